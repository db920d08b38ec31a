// Package analysis measures metrics for canaries: providers take a
// measurement (Prometheus, web), CEL conditions judge it, and the tally of
// measurements decides a metric and a run. The AnalysisRun reconciler
// (internal/controller/analysisrun) drives it; everything here is free of
// Kubernetes writes so that it can be tested on its own.
package analysis

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/outbound"
)

// Result is a measured value: a float64 (a scalar), a []float64 (a
// vector), or any JSON value (web).
type Result any

// DefaultTimeout bounds a measurement's request.
const DefaultTimeout = 10 * time.Second

// Timeout is a provider's timeout setting, DefaultTimeout when unset.
func Timeout(d *metav1.Duration) time.Duration {
	if d == nil {
		return DefaultTimeout
	}
	return d.Duration
}

// ErrEmpty is returned (wrapped) by providers whose query returned no data.
var ErrEmpty = errors.New("no data")

// ErrPending is returned (wrapped) by providers whose measurement takes
// longer than a request (a Job): it has begun, or goes on. The
// measurement is not recorded; the provider is asked again, and answers
// once it is over.
var ErrPending = errors.New("in progress")

// ErrInconclusive is returned (wrapped) by providers that could not tell
// this time for a reason that is not a fault, such as a rate limit that
// resets after the metric's interval: the measurement is Inconclusive,
// with the message.
var ErrInconclusive = errors.New("inconclusive")

// Descriptor registers a metric provider (package providers lists them):
// adding one is a package with its Descriptor, and a line there.
type Descriptor struct {
	// Name is the provider's field in a metric, e.g. "prometheus".
	Name string
	// Selected reports whether a metric's provider field names it.
	Selected func(*rampv1.MetricProvider) bool
	// New makes the provider for the measurements of one run.
	New func(Env) Provider
	// Templates lists the provider's templated fields, for checks before
	// any measurement (nil: none).
	Templates func(*rampv1.MetricProvider) []Field
}

// Env is what providers may use for the measurements of one run.
type Env struct {
	// Secrets resolves the metric's Secret references.
	Secrets outbound.Secrets
	// Client and Run serve providers that measure with objects in the
	// cluster (a Job, owned by the run). Run is nil for a measurement
	// outside a run (ramp analysis try): the provider then waits for
	// its objects and removes them.
	Client client.Client
	Run    *rampv1.AnalysisRun
}

// Provider takes one measurement of a metric.
type Provider interface {
	// Measure runs the metric's query with vars and returns its result.
	// A provider fault (server down, bad query, timeout) is an error that
	// says what failed, without secrets.
	Measure(ctx context.Context, m *rampv1.Metric, vars Vars) (Result, error)
}
