package dashboard

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/request"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func at(s int) metav1.MicroTime { return metav1.NewMicroTime(t0.Add(time.Duration(s) * time.Second)) }

func ended(i int32, from, to int, outcome rampv1.StepOutcome) rampv1.StepRecord {
	return rampv1.StepRecord{Index: i, StartedAt: at(from), EndedAt: ptr.To(at(to)), Outcome: outcome}
}

func running(i int32, from int) rampv1.StepRecord {
	return rampv1.StepRecord{Index: i, StartedAt: at(from)}
}

// rollout has four steps: 20%, pause, 50%, pause.
func rollout(status rampv1.RolloutStatus) *rampv1.Rollout {
	return &rampv1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: rampv1.RolloutSpec{Strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{Steps: []rampv1.Step{
			{SetWeight: ptr.To(rampv1.Percent(20))}, {Pause: &rampv1.PauseStep{}},
			{SetWeight: ptr.To(rampv1.Percent(50))}, {Pause: &rampv1.PauseStep{}},
		}}}},
		Status: status,
	}
}

func TestSteps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status rampv1.RolloutStatus
		want   string
	}{
		{"no canary yet", rampv1.RolloutStatus{}, "pending pending pending pending"},
		{"at the second pause", rampv1.RolloutStatus{CanaryRevision: "b", CurrentStepIndex: ptr.To[int32](3), StepHistory: []rampv1.StepRecord{
			ended(0, 0, 5, rampv1.StepPassed), ended(1, 5, 65, rampv1.StepPromoted), ended(2, 65, 70, rampv1.StepPassed), running(3, 70),
		}}, "done:Passed:5s done:Promoted:1m0s done:Passed:5s running"},
		{"promoted in full at the first pause", rampv1.RolloutStatus{StableRevision: "b", StepHistory: []rampv1.StepRecord{
			ended(0, 0, 5, rampv1.StepPassed), ended(1, 5, 9, rampv1.StepPromotedFull),
		}}, "done:Passed:5s done:PromotedFull:4s skipped skipped"},
		{"rolled back at the first pause", rampv1.RolloutStatus{CanaryRevision: "b", Abort: &rampv1.AbortStatus{Revision: "b"}, StepHistory: []rampv1.StepRecord{
			ended(0, 0, 5, rampv1.StepPassed), ended(1, 5, 7, rampv1.StepRolledBack),
		}}, "done:Passed:5s done:RolledBack:2s skipped skipped"},
		{"a record of a step the spec no longer has", rampv1.RolloutStatus{CanaryRevision: "b", StepHistory: []rampv1.StepRecord{
			ended(0, 0, 5, rampv1.StepPassed), running(9, 5),
		}}, "done:Passed:5s pending pending pending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, st := range steps(rollout(tc.status)) {
				s := st.State
				if st.EndedAt != nil {
					s += fmt.Sprintf(":%s:%s", st.Outcome, st.EndedAt.Sub(*st.StartedAt))
				}
				got = append(got, s)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("steps: %s\nwant:  %s", g, tc.want)
			}
		})
	}
	if s := steps(rollout(rampv1.RolloutStatus{})); s[1].Summary != "pause until promoted" || s[1].Weight != 20 || s[3].Weight != 50 {
		t.Errorf("summaries and weights: %+v", s)
	}
}

func TestWeightPlot(t *testing.T) {
	history := []rampv1.StepRecord{ended(0, 0, 5, rampv1.StepPassed), ended(1, 5, 65, rampv1.StepPromoted), ended(2, 65, 70, rampv1.StepPassed), running(3, 70)}
	for _, tc := range []struct {
		name   string
		status rampv1.RolloutStatus
		want   string
	}{
		{"no canary", rampv1.RolloutStatus{}, ""},
		{"in flight", rampv1.RolloutStatus{CanaryRevision: "b", StepHistory: history}, "0s:0 5s:20 1m10s:50"},
		{"rolled back", rampv1.RolloutStatus{CanaryRevision: "b", StepHistory: history[:2],
			Abort: &rampv1.AbortStatus{Revision: "b", At: at(66)}}, "0s:0 5s:20 1m6s:0"},
		{"reverted after a rollback", rampv1.RolloutStatus{StableRevision: "a", StepHistory: []rampv1.StepRecord{
			ended(0, 0, 5, rampv1.StepPassed), ended(1, 5, 66, rampv1.StepRolledBack)}}, "0s:0 5s:20 1m6s:0"},
		{"promoted", rampv1.RolloutStatus{StableRevision: "b", StepHistory: append(history[:3:3], ended(3, 70, 80, rampv1.StepPromoted))},
			"0s:0 5s:20 1m10s:50 1m20s:100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range weightPlot(rollout(tc.status)) {
				got = append(got, fmt.Sprintf("%s:%g", p.At.Sub(t0), p.Weight))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("plot: %s, want %s", g, tc.want)
			}
		})
	}
}

func TestRequestsFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status rampv1.RolloutStatus
		paused bool
		want   []request.Kind
	}{
		{"at rest", rampv1.RolloutStatus{}, false, []request.Kind{request.Pause}},
		{"at rest, paused", rampv1.RolloutStatus{}, true, []request.Kind{request.Resume}},
		{"in a step", rampv1.RolloutStatus{CanaryRevision: "b", CurrentStepIndex: ptr.To[int32](1)}, false,
			[]request.Kind{request.Promote, request.PromoteFull, request.Abort, request.Pause}},
		{"past the last step", rampv1.RolloutStatus{CanaryRevision: "b", CurrentStepIndex: ptr.To[int32](4)}, false,
			[]request.Kind{request.PromoteFull, request.Abort, request.Pause}},
		{"rolled back", rampv1.RolloutStatus{CanaryRevision: "b", CurrentStepIndex: ptr.To[int32](1), Abort: &rampv1.AbortStatus{Revision: "b"}}, true,
			[]request.Kind{request.Retry, request.Resume}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := rollout(tc.status)
			ro.Spec.Paused = tc.paused
			if got := requestsFor(ro); !slices.Equal(got, tc.want) {
				t.Errorf("requests %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMeasurementOf(t *testing.T) {
	for _, tc := range []struct {
		ms    rampv1.Measurement
		value *float64
		text  string
	}{
		{rampv1.Measurement{Value: "0.02"}, ptr.To(0.02), "0.02"},
		{rampv1.Measurement{Value: "[0.5, 1]"}, ptr.To(0.5), "[0.5, 1]"},
		{rampv1.Measurement{Value: "[]"}, nil, "[]"},
		{rampv1.Measurement{Value: "0.5]"}, nil, "0.5]"},
		{rampv1.Measurement{Value: "]"}, nil, "]"},
		{rampv1.Measurement{Value: `{"a":1}`}, nil, `{"a":1}`},
		{rampv1.Measurement{Message: "provider down"}, nil, "provider down"},
	} {
		got := measurementOf(tc.ms)
		if got.Text != tc.text || (got.Value == nil) != (tc.value == nil) || (got.Value != nil && *got.Value != *tc.value) {
			t.Errorf("measurementOf(%+v) = %+v (value %v)", tc.ms, got, got.Value)
		}
	}
}

func TestAnalysisOf(t *testing.T) {
	run := &rampv1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: "web-b-1-step-2"},
		Spec: rampv1.AnalysisRunSpec{
			Args: []rampv1.Argument{{Name: "max", Value: ptr.To("0.05")}},
			Metrics: []rampv1.Metric{
				{Name: "errors", SuccessCondition: "result <= double(args.max)"},
				{Name: "latency", FailureCondition: "result[0] > 0.3"},
				{Name: "odd", SuccessCondition: "result.ok == true"},
			},
		},
		Status: rampv1.AnalysisRunStatus{Phase: rampv1.AnalysisRunning, MetricResults: []rampv1.MetricResult{
			{Name: "errors", Phase: rampv1.AnalysisRunning, Measurements: []rampv1.Measurement{
				{Phase: rampv1.AnalysisSuccessful, Value: "0.01", StartedAt: at(1), FinishedAt: ptr.To(at(2))},
			}},
		}},
	}
	a := analysisOf(run)
	errors, latency, odd := a.Metrics[0], a.Metrics[1], a.Metrics[2]
	if errors.Success == nil || *errors.Success != (analysisThreshold("<=", 0.05)) || errors.Condition != "passes if result <= double(args.max)" {
		t.Errorf("errors: %+v", errors)
	}
	if len(errors.Measurements) != 1 || !errors.Measurements[0].At.Equal(at(2).Time) || *errors.Measurements[0].Value != 0.01 {
		t.Errorf("errors' measurements: %+v", errors.Measurements)
	}
	if latency.Failure == nil || *latency.Failure != analysisThreshold(">", 0.3) || latency.Success != nil || latency.Measurements == nil {
		t.Errorf("latency: %+v", latency)
	}
	if odd.Success != nil || odd.Failure != nil {
		t.Errorf("odd has a threshold: %+v", odd)
	}
}

func analysisThreshold(op string, v float64) analysis.Threshold {
	return analysis.Threshold{Op: op, Value: v}
}

// TestBlueGreenView: a blue/green Rollout shows as such, with the steps it
// is carried out as.
func TestBlueGreenView(t *testing.T) {
	ro := rollout(rampv1.RolloutStatus{})
	ro.Spec.Strategy = rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{
		ActiveService: "web", PrePromotion: []rampv1.Step{{Pause: &rampv1.PauseStep{}}},
	}}
	if got := router(ro); got != "blue/green, Service selectors" {
		t.Errorf("router %q", got)
	}
	var got []string
	for _, s := range steps(ro) {
		got = append(got, fmt.Sprintf("%s@%g", s.Summary, s.Weight))
	}
	if want := "pause until promoted@0 pause until promoted@0 setWeight 100%@100"; strings.Join(got, " ") != want {
		t.Errorf("steps %q, want %q", strings.Join(got, " "), want)
	}
}
