package providers

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestValidate(t *testing.T) {
	prom := func(query string) rampv1.MetricProvider {
		return rampv1.MetricProvider{Prometheus: &rampv1.PrometheusMetric{Address: "http://p:9090", Query: query}}
	}
	tests := []struct {
		name   string
		metric rampv1.Metric
		want   []string // one per error
	}{
		{name: "valid", metric: rampv1.Metric{Name: "m", SuccessCondition: "result <= double(args.max)", Provider: prom(`x{pod=~"{{.CanaryPods}}"}`)}},
		{name: "a success condition that is not CEL", metric: rampv1.Metric{Name: "m", SuccessCondition: "result <=", Provider: prom("x")},
			want: []string{`spec.metrics[0].successCondition: Invalid value: "result <="`}},
		{name: "a failure condition that is not CEL", metric: rampv1.Metric{Name: "m", SuccessCondition: "result < 1.0", FailureCondition: "result >>> 2", Provider: prom("x")},
			want: []string{`spec.metrics[0].failureCondition: Invalid value: "result >>> 2"`}},
		{name: "a query naming no value", metric: rampv1.Metric{Name: "m", SuccessCondition: "true", Provider: prom("{{.CanaryRevison}}")},
			want: []string{`spec.metrics[0].provider.prometheus.query: Invalid value: "{{.CanaryRevison}}": template: no value .CanaryRevison`}},
		{name: "a Datadog formula query that does not parse", metric: rampv1.Metric{Name: "m", SuccessCondition: "true",
			Provider: rampv1.MetricProvider{Datadog: &rampv1.DatadogMetric{Queries: []rampv1.DatadogQuery{{Name: "a", Query: "{{.Args.x"}}, Formula: "a"}}},
			want: []string{`spec.metrics[0].provider.datadog.queries[0].query`}},
		{name: "a CloudWatch dimension", metric: rampv1.Metric{Name: "m", SuccessCondition: "true",
			Provider: rampv1.MetricProvider{CloudWatch: &rampv1.CloudWatchMetric{Queries: []rampv1.CloudWatchQuery{{ID: "a",
				MetricStat: &rampv1.CloudWatchMetricStat{Dimensions: []rampv1.CloudWatchDimension{{Name: "d", Value: "{{.Rev}}"}}}}}}}},
			want: []string{`spec.metrics[0].provider.cloudWatch.queries[0].metricStat.dimensions[0].value`}},
		{name: "a job needs no condition", metric: rampv1.Metric{Name: "m", Provider: rampv1.MetricProvider{Job: &rampv1.JobHook{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := Validate(&rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{tt.metric}}, field.NewPath("spec"))
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %v, want %d", errs, len(tt.want))
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tt.want[i]) {
					t.Errorf("error %q, want %q", e.Error(), tt.want[i])
				}
			}
		})
	}
}
