package dataplane

import "testing"

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
