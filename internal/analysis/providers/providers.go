// Package providers is the registry of metric providers: the one list the
// AnalysisRun reconciler reads. Adding a provider is a package with its
// analysis.Descriptor, and a line here.
package providers

import (
	"context"
	"errors"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/cloudwatch"
	"github.com/rampcd/ramp/internal/analysis/datadog"
	"github.com/rampcd/ramp/internal/analysis/graphite"
	"github.com/rampcd/ramp/internal/analysis/influxdb"
	"github.com/rampcd/ramp/internal/analysis/job"
	"github.com/rampcd/ramp/internal/analysis/newrelic"
	"github.com/rampcd/ramp/internal/analysis/prometheus"
	"github.com/rampcd/ramp/internal/analysis/web"
)

// All are the providers Ramp knows.
var All = []analysis.Descriptor{
	prometheus.Descriptor,
	datadog.Descriptor,
	newrelic.Descriptor,
	graphite.Descriptor,
	cloudwatch.Descriptor,
	influxdb.Descriptor,
	job.Descriptor,
	web.Descriptor,
}

// For returns the provider a metric names. Admission allows only the
// providers above; a newer API naming one this controller does not know
// gets a provider whose every measurement is an error that says so.
func For(m *rampv1.Metric, env analysis.Env) analysis.Provider {
	for _, d := range All {
		if d.Selected(&m.Provider) {
			return d.New(env)
		}
	}
	return unknown{}
}

// Name is the name of the provider a metric names, for metrics' labels;
// "unknown" for one this controller does not know.
func Name(m *rampv1.Metric) string {
	for _, d := range All {
		if d.Selected(&m.Provider) {
			return d.Name
		}
	}
	return "unknown"
}

type unknown struct{}

func (unknown) Measure(context.Context, *rampv1.Metric, analysis.Vars) (analysis.Result, error) {
	return nil, errors.New("the metric names a provider this controller does not know; upgrade Ramp")
}
