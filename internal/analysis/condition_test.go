package analysis

import (
	"math"
	"strings"
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name             string
		success, failure string
		empty            rampv1.EmptyResult
		result           Result
		want             rampv1.AnalysisPhase
		wantErr          string
	}{
		{name: "scalar passes", success: "result <= 0.01", result: 0.005, want: rampv1.AnalysisSuccessful},
		{name: "threshold from args", success: "result <= double(args.max)", result: 0.02, want: rampv1.AnalysisFailed},
		{name: "scalar fails", success: "result <= 0.01", result: 0.05, want: rampv1.AnalysisFailed},
		{name: "vector element", success: "result[0] <= 0.01", result: []float64{0.001, 9}, want: rampv1.AnalysisSuccessful},
		{name: "every element", success: "result.all(x, x < 1.0)", result: []float64{0.5, 0.9}, want: rampv1.AnalysisSuccessful},
		{name: "failure checked first", success: "true", failure: "result > 100.0", result: 200.0, want: rampv1.AnalysisFailed},
		{name: "failure only, not met", failure: "result > 100.0", result: 2.0, want: rampv1.AnalysisSuccessful},
		{name: "empty vector is inconclusive", success: "result[0] < 1.0", result: []float64{}, want: rampv1.AnalysisInconclusive},
		{name: "NaN is inconclusive", success: "result < 1.0", result: math.NaN(), want: rampv1.AnalysisInconclusive},
		{name: "empty judged as configured", success: "result < 1.0", empty: rampv1.EmptySuccessful, result: nil, want: rampv1.AnalysisSuccessful},
		{name: "web JSON value", success: "result.status == 'ok' && result.errors < 3", result: map[string]any{"status": "ok", "errors": 1.0}, want: rampv1.AnalysisSuccessful},
		{name: "not a boolean", success: "result + 1.0", result: 1.0, wantErr: "not a boolean"},
		{name: "index out of range", success: "result[3] < 1.0", result: []float64{1}, wantErr: "successCondition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &rampv1.Metric{Name: "errors", SuccessCondition: tt.success, FailureCondition: tt.failure, EmptyResult: tt.empty}
			c, err := Compile(m)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := c.Judge(tt.result, map[string]string{"max": "0.01"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %s, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestCompileNamesTheMetric(t *testing.T) {
	_, err := Compile(&rampv1.Metric{Name: "error-rate", SuccessCondition: "result <="})
	if err == nil || !strings.Contains(err.Error(), "metric error-rate") || !strings.Contains(err.Error(), "successCondition") {
		t.Errorf("got %v, want an error naming metric error-rate and its successCondition", err)
	}
}

func TestRenderEscapes(t *testing.T) {
	vars := Vars{Namespace: "shop", Rollout: "web.v2", CanaryRevision: "abc", Args: map[string]string{"route": `/api"} or vector(1) #`}}
	vars.CanaryPods = `web\.v2-abc-.*`
	q, err := Render("q", `sum(rate(x{namespace="{{.Namespace}}",route="{{.Args.route}}",pod=~"{{.CanaryPods}}"}[1m]))`, vars, PromQLEscape)
	if err != nil {
		t.Fatal(err)
	}
	want := `sum(rate(x{namespace="shop",route="/api\"} or vector(1) #",pod=~"web\\.v2-abc-.*"}[1m]))`
	if q != want {
		t.Errorf("got  %s\nwant %s", q, want)
	}
	if _, err := Render("q", `{{.Args.missing}}`, vars, PromQLEscape); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing argument: got %v, want an error naming it", err)
	}
}
