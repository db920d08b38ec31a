package influxdb

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
	"github.com/rampcd/ramp/test/influxdb"
)

// TestMeasure runs Flux and InfluxQL queries on a real InfluxDB (influxd
// 1.8, built from its Go module) holding known points of two revisions.
func TestMeasure(t *testing.T) {
	ctx := context.Background()
	srv, err := influxdb.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	if err := srv.CreateDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var lines []string
	for i, v := range []float64{0.5, 0.02} { // the last the newest
		at := now.Add(time.Duration(i-2) * 10 * time.Second).UnixNano()
		lines = append(lines, fmt.Sprintf("errors,revision=abc rate=%g %d", v, at), fmt.Sprintf("errors,revision=def rate=%g %d", 10*v, at))
	}
	if err := srv.Write(ctx, "app", lines...); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stop }))
	defer slow.Close()
	defer close(stop)
	const fluxBase = `from(bucket: "app/autogen") |> range(start: -1m) |> filter(fn: (r) => r._measurement == "errors" and r._field == "rate"`

	tests := []struct {
		name string
		cfg  rampv1.InfluxDBMetric
		want analysistest.Want
	}{
		{name: "flux: one table", cfg: rampv1.InfluxDBMetric{Flux: fluxBase + ` and r.revision == "{{.CanaryRevision}}")`},
			want: analysistest.Want{Result: 0.02}},
		{name: "flux: a table per revision", cfg: rampv1.InfluxDBMetric{Flux: fluxBase + `)`},
			want: analysistest.Want{Result: []float64{0.02, 0.2}}},
		{name: "flux: no data", cfg: rampv1.InfluxDBMetric{Flux: fluxBase + ` and r.revision == "none")`},
			want: analysistest.Want{Empty: true}},
		// An argument that tries to end the string stays inside it.
		{name: "flux: arguments are escaped", cfg: rampv1.InfluxDBMetric{Flux: fluxBase + ` and r.revision == "{{.Args.revision}}")`},
			want: analysistest.Want{Empty: true}},
		// Nor does an interpolation run.
		{name: "flux: interpolations are escaped", cfg: rampv1.InfluxDBMetric{Flux: fluxBase + ` and r.revision == "{{.Args.interpolation}}")`},
			want: analysistest.Want{Empty: true}},
		{name: "flux: a syntax error", cfg: rampv1.InfluxDBMetric{Flux: `from(bucket: "app/autogen" |> last()`},
			want: analysistest.Want{Err: "(query: from(bucket"}},
		{name: "influxQL: one series", cfg: rampv1.InfluxDBMetric{Database: "app",
			InfluxQL: `SELECT last(rate) FROM errors WHERE revision = '{{.CanaryRevision}}' AND time > now() - 1m`},
			want: analysistest.Want{Result: 0.02}},
		{name: "influxQL: a series per revision", cfg: rampv1.InfluxDBMetric{Database: "app",
			InfluxQL: `SELECT mean(rate) FROM errors WHERE time > now() - 1m GROUP BY revision`},
			want: analysistest.Want{Result: []float64{0.26, 2.6}}},
		{name: "influxQL: no data", cfg: rampv1.InfluxDBMetric{Database: "app",
			InfluxQL: `SELECT last(rate) FROM errors WHERE revision = 'none'`}, want: analysistest.Want{Empty: true}},
		{name: "influxQL: arguments are escaped", cfg: rampv1.InfluxDBMetric{Database: "app",
			InfluxQL: `SELECT last(rate) FROM errors WHERE revision = '{{.Args.quote}}'`}, want: analysistest.Want{Empty: true}},
		{name: "influxQL: a syntax error", cfg: rampv1.InfluxDBMetric{Database: "app", InfluxQL: `SELEC last(rate) FROM errors`},
			want: analysistest.Want{Err: "error parsing query"}},
		{name: "influxQL: no such database", cfg: rampv1.InfluxDBMetric{Database: "nope", InfluxQL: `SELECT last(rate) FROM errors`},
			want: analysistest.Want{Err: "database not found: nope"}},
		{name: "a timeout", cfg: rampv1.InfluxDBMetric{Address: slow.URL, Database: "app", InfluxQL: `SELECT 1`,
			Timeout: &metav1.Duration{Duration: 200 * time.Millisecond}}, want: analysistest.Want{Err: "timed out after 200ms"}},
		{name: "nobody listening", cfg: rampv1.InfluxDBMetric{Address: closedAddress(t), Flux: fluxBase + `)`},
			want: analysistest.Want{Err: "connection refused"}},
	}
	vars := analysis.Vars{CanaryRevision: "abc", Args: map[string]string{"revision": `abc" or r.revision != "`, "quote": `abc' OR revision != '`,
		"interpolation": "${r.revision}"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Address == "" {
				cfg.Address = srv.URL
			}
			m := &rampv1.Metric{Name: "errors", Provider: rampv1.MetricProvider{InfluxDB: &cfg}}
			got, err := Provider{Secrets: analysistest.Secrets{}}.Measure(ctx, m, vars)
			if f, ok := got.([]float64); ok { // means are not exact
				for i := range f {
					f[i] = float64(int(f[i]*100+0.5)) / 100
				}
			}
			analysistest.Check(t, got, err, tt.want, "")
		})
	}
}

// TestToken: the token reaches the server, as username:password (1.x) or
// as a 2.x token, and never an error message.
func TestToken(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		seen = append(seen, r.URL.Path+" "+u+":"+p+" "+r.Header.Get("Authorization"))
		http.Error(w, `{"error": "authorization failed for s3cret"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	secrets := analysistest.Secrets{"influx/user": "ramp:s3cret", "influx/token": "s3cret"}
	for _, cfg := range []rampv1.InfluxDBMetric{
		{Address: srv.URL, Database: "app", InfluxQL: "SELECT 1", Token: &rampv1.SecretKeyRef{Name: "influx", Key: "user"}},
		{Address: srv.URL, Flux: `from(bucket: "a")`, Org: "shop", Token: &rampv1.SecretKeyRef{Name: "influx", Key: "token"}},
	} {
		m := &rampv1.Metric{Name: "m", Provider: rampv1.MetricProvider{InfluxDB: &cfg}}
		_, err := Provider{Secrets: secrets}.Measure(context.Background(), m, analysis.Vars{})
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("err = %v, want the answer's error with the secret redacted", err)
		}
	}
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "/query ramp:s3cret ") || !strings.HasPrefix(seen[1], "/api/v2/query :") || !strings.HasSuffix(seen[1], "Token s3cret") {
		t.Errorf("the server saw %q", seen)
	}
}

func closedAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}
