package analysis

import (
	"fmt"
	"time"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Defaults of a metric.
const (
	DefaultInterval              = 30 * time.Second
	DefaultConsecutiveErrorLimit = 4
	// keptMeasurements bounds the measurements kept per metric in status.
	keptMeasurements = 10
)

// wanted is how many measurements a metric takes; 0 means until the run
// is terminated.
func wanted(m *rampv1.Metric, untilTerminated bool) int32 {
	switch {
	case m.Count != nil:
		return *m.Count
	case untilTerminated:
		return 0
	}
	return 1
}

// Interval is the time between a metric's measurements, which providers
// that query a window of time also take as the window.
func Interval(m *rampv1.Metric) time.Duration {
	if m.Interval == nil {
		return DefaultInterval
	}
	return m.Interval.Duration
}

// Due returns when a metric's next measurement is due, and false when it
// takes no more: its phase is final.
func Due(m *rampv1.Metric, r *rampv1.MetricResult, startedAt time.Time) (time.Time, bool) {
	if r.Phase.Done() {
		return time.Time{}, false
	}
	if n := len(r.Measurements); n > 0 {
		last := r.Measurements[n-1]
		from := last.StartedAt.Time
		if last.FinishedAt != nil {
			from = last.FinishedAt.Time
		}
		return from.Add(Interval(m)), true
	}
	delay := time.Duration(0)
	if m.InitialDelay != nil {
		delay = m.InitialDelay.Duration
	}
	return startedAt.Add(delay), true
}

// Record adds a measurement to a metric's result and settles the metric's
// phase by its limits.
func Record(m *rampv1.Metric, r *rampv1.MetricResult, ms rampv1.Measurement, untilTerminated bool) {
	r.Count++
	switch ms.Phase {
	case rampv1.AnalysisSuccessful:
		r.Successful++
		r.ConsecutiveErrors = 0
	case rampv1.AnalysisFailed:
		r.Failed++
		r.ConsecutiveErrors = 0
	case rampv1.AnalysisInconclusive:
		r.Inconclusive++
		r.ConsecutiveErrors = 0
	case rampv1.AnalysisError:
		r.Error++
		r.ConsecutiveErrors++
	}
	r.Measurements = append(r.Measurements, ms)
	if n := len(r.Measurements); n > keptMeasurements {
		r.Measurements = r.Measurements[n-keptMeasurements:]
	}

	failureLimit := ptr.Deref(m.FailureLimit, 0)
	errorLimit := ptr.Deref(m.ConsecutiveErrorLimit, DefaultConsecutiveErrorLimit)
	inconclusiveLimit := ptr.Deref(m.InconclusiveLimit, 0)
	last := describe(ms)
	// Only judged measurements use up count: a gap (no data yet) or an
	// error within its limit is measured again at the next interval, so a
	// step analysis that starts before the canary has traffic still gets
	// its verdict instead of pausing the canary.
	judged := r.Successful + r.Failed
	switch want := wanted(m, untilTerminated); {
	case r.Failed > failureLimit:
		r.Phase, r.Message = rampv1.AnalysisFailed, fmt.Sprintf(
			"%d failed measurements, more than the failureLimit of %d; last: %s", r.Failed, failureLimit, last)
	case r.ConsecutiveErrors > errorLimit:
		r.Phase, r.Message = rampv1.AnalysisFailed, fmt.Sprintf(
			"%d measurements in a row could not be taken, more than the consecutiveErrorLimit of %d; last: %s",
			r.ConsecutiveErrors, errorLimit, last)
	case r.Inconclusive > inconclusiveLimit:
		r.Phase, r.Message = rampv1.AnalysisInconclusive, fmt.Sprintf(
			"%d inconclusive measurements, more than the inconclusiveLimit of %d; last: %s", r.Inconclusive, inconclusiveLimit, last)
	case want > 0 && judged >= want && r.Successful == 0:
		// Tolerated failures are not a pass on their own.
		r.Phase, r.Message = rampv1.AnalysisInconclusive, fmt.Sprintf(
			"%d measurements, none successful; last: %s", r.Count, last)
	case want > 0 && judged >= want:
		r.Phase, r.Message = rampv1.AnalysisSuccessful, fmt.Sprintf("%d measurements; last: %s", r.Count, last)
	default:
		r.Phase, r.Message = rampv1.AnalysisRunning, "last: "+last
	}
}

// Terminate ends a metric that is still measuring: it succeeds, as it has
// not failed.
func Terminate(r *rampv1.MetricResult) {
	if !r.Phase.Done() {
		r.Phase, r.Message = rampv1.AnalysisSuccessful, fmt.Sprintf("terminated after %d measurements", r.Count)
	}
}

// Verdict is a run's phase: the worst of its metrics', in the order
// Failed, Error, Inconclusive, Running, Successful; and the message of the
// metric that decided it.
func Verdict(results []rampv1.MetricResult) (rampv1.AnalysisPhase, string) {
	rank := map[rampv1.AnalysisPhase]int{
		rampv1.AnalysisFailed: 5, rampv1.AnalysisError: 4, rampv1.AnalysisInconclusive: 3,
		rampv1.AnalysisRunning: 2, rampv1.AnalysisPending: 1, rampv1.AnalysisSuccessful: 0,
	}
	phase, msg := rampv1.AnalysisSuccessful, ""
	for _, r := range results {
		if rank[r.Phase] > rank[phase] {
			phase, msg = r.Phase, fmt.Sprintf("metric %s: %s", r.Name, r.Message)
		}
	}
	if len(results) == 0 {
		return rampv1.AnalysisPending, ""
	}
	return phase, msg
}

func describe(ms rampv1.Measurement) string {
	s := string(ms.Phase)
	if ms.Value != "" {
		s += " with " + ms.Value
	}
	if ms.Message != "" {
		s += " (" + ms.Message + ")"
	}
	return s
}
