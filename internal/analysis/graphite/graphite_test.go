package graphite

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
	"github.com/rampcd/ramp/test/graphite"
)

// TestMeasure reads targets from a real Graphite render API
// (VictoriaMetrics', built from its Go module) holding known points, and
// through a loopback proxy that wants a header from a Secret.
func TestMeasure(t *testing.T) {
	srv, err := graphite.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	// The window of every measurement ends at now; points sit on
	// Graphite's 10-second grid, the newest 10s before now.
	now := time.Now().Truncate(10 * time.Second)
	var points []graphite.Point
	for i, v := range []float64{1, 2, 3} {
		at := now.Add(time.Duration(i-3) * 10 * time.Second)
		points = append(points,
			graphite.Point{Path: "web.v1.errors", Value: v, At: at},
			graphite.Point{Path: "web.v2.errors", Value: 10 * v, At: at},
			graphite.Point{Path: "web.v2.requests", Value: 100 * v, At: at})
	}
	if err := srv.Push(context.Background(), points...); err != nil {
		t.Fatal(err)
	}
	authed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Grafana-Org") != "s3cret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		resp, err := http.Get(srv.URL + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer authed.Close()
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stop }))
	defer slow.Close()
	defer close(stop)
	secrets := analysistest.Secrets{"graphite/org": "s3cret"}

	tests := []struct {
		name   string
		target string
		with   func(*rampv1.GraphiteMetric)
		window time.Duration
		want   analysistest.Want
	}{
		{name: "one series: its last point", target: "web.v1.errors", want: analysistest.Want{Result: 3.0}},
		{name: "a function", target: "asPercent(web.v2.errors, web.v2.requests)", want: analysistest.Want{Result: 10.0}},
		{name: "several series", target: "web.*.errors", want: analysistest.Want{Result: []float64{3, 30}}},
		{name: "a template", target: "web.{{.CanaryRevision}}.errors", want: analysistest.Want{Result: 30.0}},
		// An argument that tries to add a series stays part of one path.
		{name: "arguments are escaped", target: "web.{{.Args.version}}.errors", want: analysistest.Want{Empty: true}},
		{name: "no such series", target: "web.v9.errors", want: analysistest.Want{Empty: true}},
		{name: "no point in the window", target: "web.v1.errors", window: 5 * time.Second, want: analysistest.Want{Empty: true}},
		{name: "a bad target", target: "sumSeries(web.v1.errors", want: analysistest.Want{Err: "400 Bad Request"}},
		{name: "a header from a Secret", target: "web.v1.errors", with: func(g *rampv1.GraphiteMetric) {
			g.Address = authed.URL
			g.Headers = []rampv1.Header{{Name: "X-Grafana-Org", ValueFrom: &rampv1.SecretKeyRef{Name: "graphite", Key: "org"}}}
		}, want: analysistest.Want{Result: 3.0}},
		{name: "refused without it", target: "web.v1.errors", with: func(g *rampv1.GraphiteMetric) { g.Address = authed.URL },
			want: analysistest.Want{Err: "401 Unauthorized"}},
		{name: "a timeout", target: "web.v1.errors", with: func(g *rampv1.GraphiteMetric) {
			g.Address, g.Timeout = slow.URL, &metav1.Duration{Duration: 100 * time.Millisecond}
		}, want: analysistest.Want{Err: "timed out after 100ms"}},
		{name: "nobody listening", target: "web.v1.errors", with: func(g *rampv1.GraphiteMetric) { g.Address = closedAddress(t) },
			want: analysistest.Want{Err: "connection refused"}},
	}
	vars := analysis.Vars{CanaryRevision: "v2", Args: map[string]string{"version": "v1.errors,web.v2"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &rampv1.GraphiteMetric{Address: srv.URL, Target: tt.target}
			if tt.with != nil {
				tt.with(cfg)
			}
			window := time.Minute
			if tt.window != 0 {
				window = tt.window
			}
			m := &rampv1.Metric{Name: "errors", Interval: &metav1.Duration{Duration: window}, Provider: rampv1.MetricProvider{Graphite: cfg}}
			got, err := Provider{Secrets: secrets, Now: func() time.Time { return now }}.Measure(context.Background(), m, vars)
			analysistest.Check(t, got, err, tt.want, "s3cret")
		})
	}
}

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}
