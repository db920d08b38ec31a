package bench

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const exposition = `# HELP reconcile_seconds Reconcile time.
# TYPE reconcile_seconds histogram
reconcile_seconds_bucket{controller="rollout",le="0.01"} 50
reconcile_seconds_bucket{controller="rollout",le="0.1"} 90
reconcile_seconds_bucket{controller="rollout",le="1"} 100
reconcile_seconds_bucket{controller="rollout",le="+Inf"} 100
reconcile_seconds_sum{controller="rollout"} 3
reconcile_seconds_count{controller="rollout"} 100
reconcile_seconds_bucket{controller="other",le="0.01"} 0
reconcile_seconds_bucket{controller="other",le="0.1"} 0
reconcile_seconds_bucket{controller="other",le="1"} 0
reconcile_seconds_bucket{controller="other",le="+Inf"} 7
reconcile_seconds_sum{controller="other"} 30
reconcile_seconds_count{controller="other"} 7
# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 10
requests_total{method="PATCH"} 4
`

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, exposition) }))
	defer srv.Close()
	m, err := Scrape(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Sum("requests_total"); got != 14 {
		t.Errorf("all requests: %v, want 14", got)
	}
	if got := m.Sum("requests_total", "method", "PATCH"); got != 4 {
		t.Errorf("PATCH requests: %v, want 4", got)
	}
	after := m.Buckets("reconcile_seconds", "controller", "rollout")
	if after[inf] != 100 {
		t.Errorf("count %v, want 100 (the +Inf bucket counted once)", after[inf])
	}
	before := map[float64]float64{}
	for _, tc := range []struct{ q, want float64 }{
		{0.5, 0.01},  // the 50th observation ends the first bucket
		{0.7, 0.055}, // halfway through the second
		{0.95, 0.55},
	} {
		if got := Quantile(tc.q, before, after); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q%v = %v, want %v", tc.q, got, tc.want)
		}
	}
	other := m.Buckets("reconcile_seconds", "controller", "other")
	if got := Quantile(0.5, before, other); got != 1 {
		t.Errorf("beyond the last bound: %v, want that bound, 1", got)
	}
	if got := Quantile(0.5, after, after); !math.IsNaN(got) {
		t.Errorf("no observations: %v, want NaN", got)
	}
}

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Summarise(ds)
	if got != (Latency{N: 100, P50Ms: 50, P99Ms: 99, MaxMs: 100}) {
		t.Errorf("got %+v", got)
	}
}
