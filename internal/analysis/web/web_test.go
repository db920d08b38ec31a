package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
)

// TestMeasure runs the provider against a real HTTP server on loopback.
func TestMeasure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stats":
			if r.Header.Get("Authorization") != "Token s3cret" {
				http.Error(w, "who are you", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"errors": {"rate": 0.004, "text": " 0.25 ", "list": [1, 2]}, "name": "web"}`))
		case "/echo":
			// The query value arrives decoded: what the template put in.
			w.Write([]byte(`{"service": "` + strings.ReplaceAll(r.URL.Query().Get("service"), `"`, `\"`) + `"}`))
		case "/broken":
			http.Error(w, "down", http.StatusInternalServerError)
		case "/html":
			w.Write([]byte("<html>"))
		case "/slow":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	secrets := analysistest.Secrets{"stats/token": "Token s3cret"}
	auth := []rampv1.Header{{Name: "Authorization", ValueFrom: &rampv1.SecretKeyRef{Name: "stats", Key: "token"}}}

	tests := []struct {
		name    string
		web     rampv1.WebMetric
		want    analysis.Result
		wantErr string
		empty   bool
	}{
		{name: "a number", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.errors.rate}", Headers: auth}, want: 0.004},
		{name: "a number in a string", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.errors.text}", Headers: auth}, want: 0.25},
		{name: "a list is passed as it is", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.errors.list}", Headers: auth}, want: []any{1.0, 2.0}},
		{name: "a string", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.name}", Headers: auth}, want: "web"},
		{name: "template values are escaped for the URL", web: rampv1.WebMetric{URL: srv.URL + "/echo?service={{.CanaryService}}", JSONPath: "{.service}"}, want: `web-canary&x="1"`},
		{name: "nothing at the path", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.missing}", Headers: auth}, empty: true},
		{name: "the header is required", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.name}"}, wantErr: "401 Unauthorized"},
		{name: "a missing Secret", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.name}", Headers: []rampv1.Header{{Name: "X", ValueFrom: &rampv1.SecretKeyRef{Name: "nope", Key: "k"}}}}, wantErr: "header X: secret nope has no key k"},
		{name: "a server error", web: rampv1.WebMetric{URL: srv.URL + "/broken", JSONPath: "{.x}"}, wantErr: "500 Internal Server Error"},
		{name: "not JSON", web: rampv1.WebMetric{URL: srv.URL + "/html", JSONPath: "{.x}"}, wantErr: "the response is not JSON"},
		{name: "a bad JSON path", web: rampv1.WebMetric{URL: srv.URL + "/stats", JSONPath: "{.x"}, wantErr: `jsonPath "{.x"`},
		{name: "a timeout", web: rampv1.WebMetric{URL: srv.URL + "/slow", JSONPath: "{.x}", Timeout: &metav1.Duration{Duration: 100 * time.Millisecond}}, wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &rampv1.Metric{Name: "m", Provider: rampv1.MetricProvider{Web: ptr.To(tt.web)}}
			vars := analysis.Vars{CanaryService: `web-canary&x="1"`}
			got, err := Provider{Secrets: secrets}.Measure(context.Background(), m, vars)
			analysistest.Check(t, got, err, analysistest.Want{Result: tt.want, Empty: tt.empty, Err: tt.wantErr}, "s3cret")
		})
	}
}
