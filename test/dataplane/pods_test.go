package dataplane

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestErrorSpread(t *testing.T) {
	for _, tc := range []struct {
		rate      float64
		failures  int // of 1000 requests, give or take the first
		firstFail bool
	}{
		{0, 0, false},
		{0.03, 30, true},
		{0.5, 500, true},
		{1, 1000, true},
	} {
		e := &errorSpread{rate: tc.rate}
		n, first, longest, run := 0, false, 0, 0
		for i := range 1000 {
			if e.fail() {
				n++
				first = first || i == 0
				run = 0
				continue
			}
			run++
			longest = max(longest, run)
		}
		if n < tc.failures || n > tc.failures+1 || first != tc.firstFail {
			t.Errorf("rate %v: %d failures of 1000 (first failed: %v), want %d (%v)", tc.rate, n, first, tc.failures, tc.firstFail)
		}
		if tc.rate > 0 && float64(longest) > 1/tc.rate {
			t.Errorf("rate %v: %d successes in a row; the failures are not spread", tc.rate, longest)
		}
	}
}

// TestAddressTakenOver: kwok gives a deleted pod's IP to the next pod at
// once, while the deleted pod still answers out its grace. The new pod's
// server binds beside the old one before that one stops, and the old one
// finishes the requests it has begun: one in flight there when the new pod
// comes is answered, and the next request reaches the new pod.
func TestAddressTakenOver(t *testing.T) {
	l, err := net.Listen("tcp", "127.77.0.1:0") // a free port on an address no cluster uses
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, port, _ := net.SplitHostPort(addr)
	pod := func(uid, version string, latency time.Duration) *corev1.Pod {
		p, _ := strconv.Atoi(port)
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-0", UID: types.UID(uid)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: int32(p)}},
				Env: []corev1.EnvVar{{Name: EnvVersion, Value: version}, {Name: EnvLatencyMS, Value: strconv.Itoa(int(latency.Milliseconds()))}}}}},
			Status: corev1.PodStatus{PodIP: "127.77.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
	}
	pods := NewPods("", time.Minute)
	t.Cleanup(pods.Close)
	old := pod("a", "v1", 500*time.Millisecond)
	if err := pods.Sync(old, false); err != nil {
		t.Fatal(err)
	}
	if err := pods.Sync(old, true); err != nil { // deleted: it answers out its grace
		t.Fatal(err)
	}
	inFlight := make(chan string, 1)
	go func() { inFlight <- get(addr) }()
	// The request has reached the old server once it counts a connection.
	v, _ := bound.Load(addr)
	for deadline := time.Now().Add(5 * time.Second); !v.(*podServer).busy(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the old pod's server")
		}
	}
	if err := pods.Sync(pod("b", "v2", 0), false); err != nil {
		t.Fatalf("the new pod's server: %v", err)
	}
	if got := get(addr); got != "v2" {
		t.Errorf("a request after the new pod came got %q; want v2", got)
	}
	if got := <-inFlight; got != "v1" {
		t.Errorf("the request in flight at the old pod got %q; want v1, answered", got)
	}
}

// get asks addr for its version: the body, or the error.
func get(addr string) string {
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(body))
}
