package prometheus

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	client "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestMeasure runs queries on a real Prometheus (built from its Go module) that
// scrapes two known series from a loopback exporter; the provider's
// headers, bearer token and TLS go through a loopback proxy that checks
// them.
func TestMeasure(t *testing.T) {
	promURL := startPrometheus(t)
	target, _ := url.Parse(promURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	authed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("X-Scope-OrgID") != "team-a" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer authed.Close()
	tlsProxy := httptest.NewTLSServer(proxy)
	defer tlsProxy.Close()
	// A server that never answers. The query is a POST whose body the
	// handler does not read, so net/http cannot see the client hang up:
	// stop releases the handler when the test ends.
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
	defer slow.Close()
	defer close(stop)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsProxy.Certificate().Raw}))
	secrets := analysistest.Secrets{"prom/token": "s3cret", "prom/ca.crt": ca, "prom/bad": "not a certificate"}
	auth := func(p *rampv1.PrometheusMetric) {
		p.Address = authed.URL
		p.BearerTokenSecret = &rampv1.SecretKeyRef{Name: "prom", Key: "token"}
		p.Headers = []rampv1.Header{{Name: "X-Scope-OrgID", Value: ptr.To("team-a")}}
	}

	tests := []struct {
		name    string
		query   string
		with    func(*rampv1.PrometheusMetric)
		want    analysis.Result
		wantErr string
		empty   bool
	}{
		{name: "a scalar", query: `scalar(sum(ramp_test_value))`, want: 2.5},
		{name: "a vector", query: `sort(ramp_test_value)`, want: []float64{0.5, 2}},
		{name: "an empty vector", query: `ramp_test_value{pod="none"}`, empty: true},
		{name: "NaN", query: `scalar(ramp_test_value{pod="none"})`, empty: true},
		{name: "a range vector", query: `ramp_test_value[1m]`, wantErr: "use an instant vector or a scalar"},
		{name: "a bad query", query: `sum(`, wantErr: "(query: sum()"},
		{name: "template values", query: `sum(ramp_test_value{namespace="{{.Namespace}}", pod=~"{{.CanaryPods}}"})`, want: []float64{0.5}},
		// An argument that tries to close the matcher stays a label value.
		{name: "arguments are escaped", query: `sum(ramp_test_value{pod="{{.Args.pod}}"}) or vector(99)`, want: []float64{99}},
		{name: "a bad template", query: `{{.Nope}}`, wantErr: "query:"},
		{name: "bearer token and headers", query: `scalar(sum(ramp_test_value))`, with: auth, want: 2.5},
		{name: "the proxy refuses without them", query: `scalar(sum(ramp_test_value))`,
			with: func(p *rampv1.PrometheusMetric) { p.Address = authed.URL }, wantErr: "401"},
		{name: "a missing token Secret", query: `1`, with: func(p *rampv1.PrometheusMetric) {
			auth(p)
			p.BearerTokenSecret.Key = "nope"
		}, wantErr: "bearer token: secret prom has no key nope"},
		{name: "TLS with the server's CA", query: `scalar(sum(ramp_test_value))`, with: func(p *rampv1.PrometheusMetric) {
			p.Address = tlsProxy.URL
			p.TLS = &rampv1.TLSConfig{CASecret: &rampv1.SecretKeyRef{Name: "prom", Key: "ca.crt"}}
		}, want: 2.5},
		{name: "TLS without it", query: `1`, with: func(p *rampv1.PrometheusMetric) { p.Address = tlsProxy.URL }, wantErr: "certificate"},
		{name: "a CA Secret that is not PEM", query: `1`, with: func(p *rampv1.PrometheusMetric) {
			p.Address = tlsProxy.URL
			p.TLS = &rampv1.TLSConfig{CASecret: &rampv1.SecretKeyRef{Name: "prom", Key: "bad"}}
		}, wantErr: "Secret prom key bad holds no PEM certificate"},
		{name: "a timeout", query: `1`, with: func(p *rampv1.PrometheusMetric) {
			p.Address, p.Timeout = slow.URL, &metav1.Duration{Duration: 200 * time.Millisecond}
		}, wantErr: "query timed out after 200ms"},
		{name: "nobody listening", query: `1`, with: func(p *rampv1.PrometheusMetric) { p.Address = closedAddress(t) }, wantErr: "connection refused"},
	}
	vars := analysis.Vars{
		Namespace: "shop", CanaryPods: "web-abc-.*",
		Args: map[string]string{"pod": `x"}) or vector(7) or sum(ramp_test_value{pod="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &rampv1.PrometheusMetric{Address: promURL, Query: tt.query}
			if tt.with != nil {
				tt.with(cfg)
			}
			m := &rampv1.Metric{Name: "m", Provider: rampv1.MetricProvider{Prometheus: cfg}}
			got, err := Provider{Secrets: secrets}.Measure(context.Background(), m, vars)
			analysistest.Check(t, got, err, analysistest.Want{Result: tt.want, Empty: tt.empty, Err: tt.wantErr}, "s3cret")
		})
	}
}

// startPrometheus runs Prometheus scraping an exporter of
// ramp_test_value{namespace="shop", pod="web-abc-1"} 0.5 and
// {namespace="shop", pod="web-def-1"} 2, and waits until it has them.
func startPrometheus(t *testing.T) string {
	t.Helper()
	reg := client.NewRegistry()
	g := client.NewGaugeVec(client.GaugeOpts{Name: "ramp_test_value", Help: "test"}, []string{"namespace", "pod"})
	reg.MustRegister(g)
	g.WithLabelValues("shop", "web-abc-1").Set(0.5)
	g.WithLabelValues("shop", "web-def-1").Set(2)
	exporter := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(exporter.Close)

	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(targets, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	prom, err := dataplane.StartPrometheus(context.Background(), dir, targets, strings.TrimPrefix(exporter.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })
	m := &rampv1.Metric{Name: "ready", Provider: rampv1.MetricProvider{Prometheus: &rampv1.PrometheusMetric{
		Address: prom.URL, Query: `scalar(count(ramp_test_value))`,
	}}}
	clustertest.Eventually(t, 30*time.Second, "Prometheus to scrape the exporter", func(ctx context.Context) (bool, string) {
		got, err := Provider{}.Measure(ctx, m, analysis.Vars{})
		if err != nil {
			return false, err.Error()
		}
		return got == 2.0, fmt.Sprintf("count of series: %v", got)
	})
	return prom.URL
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
