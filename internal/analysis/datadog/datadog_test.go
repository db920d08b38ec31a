package datadog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
	"github.com/rampcd/ramp/test/fakes/datadog"
)

const (
	apiKey = "api-s3cret"
	appKey = "app-s3cret"
)

// TestMeasure runs queries against the fake Datadog (test/fakes/datadog,
// which follows the published API): each answer shape of both APIs, and
// one case per documented error.
func TestMeasure(t *testing.T) {
	errors := `sum:trace.http.request.errors{service:web}.as_count()`
	hits := `sum:trace.http.request.hits{service:web}.as_count()`
	secrets := analysistest.Secrets{"dd/api-key": apiKey, "dd/app-key": appKey, "dd/wrong": "nope", "dd/empty": ""}
	// A server that never answers. The query is a POST whose body the
	// handler does not read, so net/http cannot see the client hang up:
	// stop releases the handler when the test ends.
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stop }))
	defer slow.Close()
	defer close(stop)

	tests := []struct {
		name  string
		with  func(*rampv1.DatadogMetric)
		setup func(*datadog.Server)
		want  analysistest.Want
		// requests the fake should have answered, as "api status"
		requests []string
	}{
		{name: "one value", setup: func(s *datadog.Server) { s.Set(errors, datadog.Value(3)) },
			want: analysistest.Want{Result: 3.0}, requests: []string{"v2 200"}},
		{name: "a formula", with: func(c *rampv1.DatadogMetric) {
			c.Query, c.Queries, c.Formula = "", []rampv1.DatadogQuery{{Name: "errors", Query: errors}, {Name: "hits", Query: hits}}, "errors / hits"
		}, setup: func(s *datadog.Server) { s.Set("("+errors+") / ("+hits+")", datadog.Value(0.02)) },
			want: analysistest.Want{Result: 0.02}},
		{name: "groups, one without data", setup: func(s *datadog.Server) {
			s.Set(errors, datadog.Answer{Values: []*float64{ptr.To(1.0), nil, ptr.To(2.0)}, Groups: []string{"a", "b", "c"}})
		}, want: analysistest.Want{Result: []float64{1, 2}}},
		{name: "no data", want: analysistest.Want{Empty: true}},
		{name: "a null value", setup: func(s *datadog.Server) { s.Set(errors, datadog.Answer{Values: []*float64{nil}}) },
			want: analysistest.Want{Empty: true}},
		{name: "v1", with: func(c *rampv1.DatadogMetric) { c.APIVersion = "v1" },
			setup: func(s *datadog.Server) { s.Set(errors, datadog.Value(4)) },
			want:  analysistest.Want{Result: 4.0}, requests: []string{"v1 200"}},
		{name: "v1 without data", with: func(c *rampv1.DatadogMetric) { c.APIVersion = "v1" }, want: analysistest.Want{Empty: true}},
		{name: "v1 when v2 is not there", setup: func(s *datadog.Server) { s.WithoutV2(); s.Set(errors, datadog.Value(5)) },
			want: analysistest.Want{Result: 5.0}, requests: []string{"v1 200"}},
		{name: "v2 asked and not there", with: func(c *rampv1.DatadogMetric) { c.APIVersion = "v2" },
			setup: func(s *datadog.Server) { s.WithoutV2() }, want: analysistest.Want{Err: "404 Not Found"}},
		{name: "a wrong key (403)", with: func(c *rampv1.DatadogMetric) { c.ApplicationKey.Key = "wrong" },
			want: analysistest.Want{Err: "403 Forbidden: Forbidden; check the API key, and that the application key has the timeseries_query permission"}},
		{name: "no key (401)", with: func(c *rampv1.DatadogMetric) { c.APIKey.Key = "empty" },
			want: analysistest.Want{Err: "401 Unauthorized: No authenticated user.; check the API key"}},
		{name: "a missing Secret key", with: func(c *rampv1.DatadogMetric) { c.APIKey.Key = "none" },
			want: analysistest.Want{Err: "header DD-API-KEY: secret dd has no key none"}},
		{name: "an invalid query (400)", with: func(c *rampv1.DatadogMetric) { c.Aggregator = "median" },
			want: analysistest.Want{Err: `400 Bad Request: invalid aggregator "median"`}},
		{name: "rate limited, reset within the interval", setup: func(s *datadog.Server) {
			s.RateLimit(1, time.Second)
			s.Set(errors, datadog.Value(6))
		}, want: analysistest.Want{Result: 6.0}, requests: []string{" 429", "v2 200"}},
		{name: "rate limited, reset after the interval", setup: func(s *datadog.Server) { s.RateLimit(1, time.Hour) },
			want:     analysistest.Want{Inconclusive: true, Err: "rate limited by Datadog (query_scalar_public); the limit resets in 1h0m0s"},
			requests: []string{" 429"}},
		{name: "rate limited twice", setup: func(s *datadog.Server) { s.RateLimit(2, time.Second) },
			want: analysistest.Want{Inconclusive: true, Err: "rate limited"}, requests: []string{" 429", " 429"}},
		{name: "a timeout", with: func(c *rampv1.DatadogMetric) {
			c.Address, c.Timeout = slow.URL, &metav1.Duration{Duration: 100 * time.Millisecond}
		}, want: analysistest.Want{Err: "timed out after 100ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := datadog.New(apiKey, appKey)
			defer srv.Close()
			if tt.setup != nil {
				tt.setup(srv)
			}
			cfg := &rampv1.DatadogMetric{Address: srv.URL, Query: errors,
				APIKey: rampv1.SecretKeyRef{Name: "dd", Key: "api-key"}, ApplicationKey: rampv1.SecretKeyRef{Name: "dd", Key: "app-key"}}
			if tt.with != nil {
				tt.with(cfg)
			}
			m := &rampv1.Metric{Name: "errors", Interval: &metav1.Duration{Duration: 5 * time.Second}, Provider: rampv1.MetricProvider{Datadog: cfg}}
			got, err := Provider{Secrets: secrets}.Measure(context.Background(), m, analysis.Vars{})
			analysistest.Check(t, got, err, tt.want, appKey)
			analysistest.Check(t, got, err, tt.want, apiKey)
			if tt.requests != nil {
				var seen []string
				for _, r := range srv.Requests() {
					seen = append(seen, r.API+" "+strconv.Itoa(r.Status))
				}
				if strings.Join(seen, ";") != strings.Join(tt.requests, ";") {
					t.Errorf("requests %q, want %q", seen, tt.requests)
				}
			}
		})
	}
}

// TestWindow: the query covers the metric's interval up to now, with the
// aggregator asked (last by default), in milliseconds for v2 and seconds
// for v1; template values stay one tag value.
func TestWindow(t *testing.T) {
	srv := datadog.New(apiKey, appKey)
	defer srv.Close()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	secrets := analysistest.Secrets{"dd/api-key": apiKey, "dd/app-key": appKey}
	for _, version := range []string{"v2", "v1"} {
		cfg := &rampv1.DatadogMetric{Address: srv.URL, APIVersion: version,
			Query:  `avg:latency{service:{{.Args.service}},version:{{.CanaryRevision}}}`,
			APIKey: rampv1.SecretKeyRef{Name: "dd", Key: "api-key"}, ApplicationKey: rampv1.SecretKeyRef{Name: "dd", Key: "app-key"}}
		m := &rampv1.Metric{Name: "latency", Interval: &metav1.Duration{Duration: 2 * time.Minute}, Provider: rampv1.MetricProvider{Datadog: cfg}}
		vars := analysis.Vars{CanaryRevision: "abc12", Args: map[string]string{"service": "web},service:*{"}}
		_, _ = Provider{Secrets: secrets, Now: func() time.Time { return now }}.Measure(context.Background(), m, vars)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests %+v, want one per API", reqs)
	}
	for _, r := range reqs {
		if want := `avg:latency{service:web__service:__,version:abc12}`; r.Query != want {
			t.Errorf("%s query %s, want %s", r.API, r.Query, want)
		}
		if !r.From.Equal(now.Add(-2*time.Minute)) || !r.To.Equal(now) {
			t.Errorf("%s window %s to %s, want the 2m before %s", r.API, r.From, r.To, now)
		}
	}
	if reqs[0].Aggregator != "last" {
		t.Errorf("aggregator %q, want last", reqs[0].Aggregator)
	}
}

func TestAddress(t *testing.T) {
	tests := []struct {
		site, address, want string
	}{
		{"", "", "https://api.datadoghq.com"},
		{"datadoghq.eu", "", "https://api.datadoghq.eu"},
		{"ddog-gov.com", "", "https://api.ddog-gov.com"},
		{"us5.datadoghq.com", "https://proxy.example/", "https://proxy.example"},
	}
	for _, tt := range tests {
		got, err := address(&rampv1.Metric{Name: "m"}, &rampv1.DatadogMetric{Site: tt.site, Address: tt.address}, analysis.Vars{})
		if err != nil || got != tt.want {
			t.Errorf("site %q address %q: %s, %v; want %s", tt.site, tt.address, got, err, tt.want)
		}
	}
}
