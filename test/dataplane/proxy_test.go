package dataplane

import (
	"sync"
	"testing"
	"time"
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
