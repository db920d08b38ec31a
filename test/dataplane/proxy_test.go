package dataplane

import (
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestLaggedKeepsOrder: a proxy applies changes after their lag, never
// one sent earlier after one sent later, however the lags fall.
func TestLaggedKeepsOrder(t *testing.T) {
	var l lagged[int]
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	start := time.Now()
	// The second change draws a shorter lag than the first: it must still
	// come after it, and the third after both.
	for i, delay := range []time.Duration{300 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		v := i + 1
		wg.Add(1)
		l.send(&v, delay, func() {
			mu.Lock()
			seen = append(seen, *l.cur.Load())
			mu.Unlock()
			wg.Done()
		})
	}
	if l.cur.Load() != nil {
		t.Fatal("a change was applied before its lag")
	}
	wg.Wait()
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("applied after %s; the first change's lag is 300ms", took)
	}
	if len(seen) != 3 || seen[0] != 1 || seen[1] != 2 || seen[2] != 3 {
		t.Errorf("applied %v; want each change, in the order sent", seen)
	}
}

func TestLagDraw(t *testing.T) {
	l := Lag{Base: time.Second, Jitter: 500 * time.Millisecond}
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := l.draw()
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < time.Second || hi >= 1500*time.Millisecond || hi-lo < 400*time.Millisecond {
		t.Errorf("1000 draws of %+v between %s and %s; want spread over [1s, 1.5s)", l, lo, hi)
	}
	if d := (Lag{}).draw(); d != 0 {
		t.Errorf("no lag drew %s", d)
	}
}

// TestMissingSubset: a VirtualService destination whose subset no
// DestinationRule defines fails the requests sent to it, as Envoy answers
// for a cluster it does not have, and only those: at weight 0 (a subset
// named just before the DestinationRule that adds it is seen) every
// request goes to the stable subset.
func TestMissingSubset(t *testing.T) {
	vs := unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"hosts": []any{"web"}, "http": []any{
		map[string]any{"route": []any{
			map[string]any{"destination": map[string]any{"host": "web", "subset": "stable"}, "weight": int64(100)},
			map[string]any{"destination": map[string]any{"host": "web", "subset": "canary"}, "weight": int64(0)},
		}},
	}}}}
	vs.SetName("web")
	dr := unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"host": "web", "subsets": []any{
		map[string]any{"name": "stable", "labels": map[string]any{"v": "1"}},
	}}}}
	eps := endpoints{"web": {{pod: "web-0", addr: "127.77.0.2:8080", labels: map[string]string{"v": "1"}}}}
	for _, tc := range []struct {
		canary     int64
		wantFailed bool
	}{{0, false}, {50, true}} {
		_ = unstructured.SetNestedField(vs.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["route"].([]any)[1].(map[string]any), tc.canary, "weight")
		def, _, fault := routeService("web", nil, nil, []unstructured.Unstructured{vs}, []unstructured.Unstructured{dr})
		if fault != "" {
			t.Fatalf("canary weight %d: the whole route faulted: %s", tc.canary, fault)
		}
		p := &proxy{}
		p.routes.cur.Store(&routes{table: map[string][]backend{"web": def.backends}})
		p.endpoints.cur.Store(&eps)
		failed := 0
		for range 200 {
			if _, _, reason := p.pick("web", "/", nil); reason != "" {
				if !strings.Contains(reason, "no subset canary") {
					t.Fatalf("canary weight %d: a request failed for %q", tc.canary, reason)
				}
				failed++
			}
		}
		if (failed > 0) != tc.wantFailed {
			t.Errorf("canary weight %d: %d of 200 requests failed; want failures: %v", tc.canary, failed, tc.wantFailed)
		}
	}
}
