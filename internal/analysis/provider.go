// Package analysis measures metrics for canaries: providers take a
// measurement (Prometheus, web), CEL conditions judge it, and the tally of
// measurements decides a metric and a run. The AnalysisRun reconciler in
// internal/controller drives it; everything here is free of Kubernetes
// writes so that it can be tested on its own.
package analysis

import (
	"context"
	"errors"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Result is a measured value: a float64 (a scalar), a []float64 (a
// vector), or any JSON value (web).
type Result any

// ErrEmpty is returned (wrapped) by providers whose query returned no data.
var ErrEmpty = errors.New("no data")

// Provider takes one measurement of a metric.
type Provider interface {
	// Measure runs the metric's query with vars and returns its result.
	// A provider fault (server down, bad query, timeout) is an error that
	// says what failed, without secrets.
	Measure(ctx context.Context, m *rampv1.Metric, vars Vars) (Result, error)
}

// Secrets resolves Secret references for headers and TLS.
type Secrets interface {
	Value(ctx context.Context, ref rampv1.SecretKeyRef) (string, error)
}
