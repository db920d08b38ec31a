package newrelic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
	"github.com/rampcd/ramp/test/fakes/newrelic"
)

const key = "NRAK-s3cret"

// TestMeasure runs NRQL queries against the fake NerdGraph
// (test/fakes/newrelic, which follows the published API): each shape of
// result, and one case per documented error.
func TestMeasure(t *testing.T) {
	const q = "SELECT percentage(count(*), WHERE error IS true) FROM Transaction SINCE 1 minute ago"
	secrets := analysistest.Secrets{"nr/key": key, "nr/wrong": "NRAK-nope"}
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stop }))
	defer slow.Close()
	defer close(stop)
	tests := []struct {
		name  string
		query string
		with  func(*rampv1.NewRelicMetric)
		rows  []map[string]any
		busy  int
		want  analysistest.Want
	}{
		{name: "one value", rows: []map[string]any{{"percentage": 0.5}}, want: analysistest.Want{Result: 0.5}},
		{name: "a row of several values", rows: []map[string]any{{"count": 10.0, "average.duration": 0.2}},
			want: analysistest.Want{Result: map[string]any{"count": 10.0, "average.duration": 0.2}}},
		{name: "facets", rows: []map[string]any{{"facet": "web", "appName": "web", "count": 3.0}, {"facet": "api", "appName": "api", "count": 4.0}},
			want: analysistest.Want{Result: []float64{3, 4}}},
		{name: "a time series", rows: []map[string]any{{"beginTimeSeconds": 1.0, "endTimeSeconds": 2.0, "p99": 0.3}, {"beginTimeSeconds": 2.0, "endTimeSeconds": 3.0, "p99": nil}},
			want: analysistest.Want{Result: 0.3}},
		{name: "no rows", want: analysistest.Want{Empty: true}},
		{name: "a null", rows: []map[string]any{{"average.duration": nil}}, want: analysistest.Want{Empty: true}},
		{name: "a syntax error (200 with errors)", query: "SELECT count(*) FORM Transaction",
			want: analysistest.Want{Err: "200 OK: NRQL Syntax Error: Error at line 1 position 17, unexpected 'FORM' (query: SELECT count(*) FORM Transaction)"}},
		{name: "a wrong key (401)", with: func(c *rampv1.NewRelicMetric) { c.APIKey.Key = "wrong" },
			want: analysistest.Want{Err: "401 Unauthorized: Bad API Key or no API Key provided; apiKey must be a user key"}},
		{name: "another account", with: func(c *rampv1.NewRelicMetric) { c.AccountID = "2" },
			want: analysistest.Want{Err: "Not authorized to access account"}},
		{name: "an account that is no number", with: func(c *rampv1.NewRelicMetric) { c.AccountID = "{{.Args.account}}" },
			want: analysistest.Want{Err: `accountID "web" is not an account number`}},
		{name: "too many requests (429)", busy: 1, want: analysistest.Want{Err: "429 Too Many Requests: Too many concurrent requests"}},
		{name: "a missing Secret", with: func(c *rampv1.NewRelicMetric) { c.APIKey.Name = "none" },
			want: analysistest.Want{Err: "header API-Key: secret none has no key key"}},
		{name: "a timeout", with: func(c *rampv1.NewRelicMetric) {
			c.Address, c.Timeout = slow.URL, &metav1.Duration{Duration: 100 * time.Millisecond}
		}, want: analysistest.Want{Err: "timed out after 100ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newrelic.New(key, 1)
			defer srv.Close()
			query := q
			if tt.query != "" {
				query = tt.query
			}
			srv.Set(query, tt.rows...)
			srv.Busy(tt.busy)
			cfg := &rampv1.NewRelicMetric{AccountID: "1", Address: srv.URL + "/graphql", Query: query, APIKey: rampv1.SecretKeyRef{Name: "nr", Key: "key"}}
			if tt.with != nil {
				tt.with(cfg)
			}
			m := &rampv1.Metric{Name: "errors", Provider: rampv1.MetricProvider{NewRelic: cfg}}
			got, err := Provider{Secrets: secrets}.Measure(context.Background(), m, analysis.Vars{Args: map[string]string{"account": "web"}})
			analysistest.Check(t, got, err, tt.want, key)
		})
	}
}

// TestEscape: a template value stays inside its NRQL string.
func TestEscape(t *testing.T) {
	srv := newrelic.New(key, 1)
	defer srv.Close()
	cfg := &rampv1.NewRelicMetric{AccountID: "1", Address: srv.URL + "/graphql", APIKey: rampv1.SecretKeyRef{Name: "nr", Key: "key"},
		Query: "SELECT count(*) FROM Transaction WHERE appName = '{{.Args.app}}'"}
	m := &rampv1.Metric{Name: "m", Provider: rampv1.MetricProvider{NewRelic: cfg}}
	vars := analysis.Vars{Args: map[string]string{"app": `web' OR appName LIKE '%`}}
	_, _ = Provider{Secrets: analysistest.Secrets{"nr/key": key}}.Measure(context.Background(), m, vars)
	want := `SELECT count(*) FROM Transaction WHERE appName = 'web\' OR appName LIKE \'%'`
	if got := srv.Requests(); len(got) != 1 || got[0] != want {
		t.Errorf("asked %q, want %q", got, want)
	}
}

func TestAddress(t *testing.T) {
	for region, want := range map[string]string{"": "https://api.newrelic.com/graphql", "US": "https://api.newrelic.com/graphql", "EU": "https://api.eu.newrelic.com/graphql"} {
		got, err := address(&rampv1.Metric{}, &rampv1.NewRelicMetric{Region: region}, analysis.Vars{})
		if err != nil || got != want {
			t.Errorf("region %q: %s, %v; want %s", region, got, err, want)
		}
	}
}
