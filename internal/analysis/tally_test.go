package analysis

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestRecord(t *testing.T) {
	ok, bad, unk, errm := rampv1.AnalysisSuccessful, rampv1.AnalysisFailed, rampv1.AnalysisInconclusive, rampv1.AnalysisError
	tests := []struct {
		name   string
		metric rampv1.Metric
		until  bool
		seq    []rampv1.AnalysisPhase
		want   rampv1.AnalysisPhase
	}{
		{"one good measurement by default", rampv1.Metric{}, false, []rampv1.AnalysisPhase{ok}, ok},
		{"count not reached", rampv1.Metric{Count: ptr.To[int32](3)}, false, []rampv1.AnalysisPhase{ok, ok}, rampv1.AnalysisRunning},
		{"count reached", rampv1.Metric{Count: ptr.To[int32](3)}, false, []rampv1.AnalysisPhase{ok, ok, ok}, ok},
		{"a failure fails by default", rampv1.Metric{Count: ptr.To[int32](3)}, false, []rampv1.AnalysisPhase{ok, bad}, bad},
		{"failures within the limit", rampv1.Metric{Count: ptr.To[int32](3), FailureLimit: ptr.To[int32](1)}, false, []rampv1.AnalysisPhase{bad, ok, ok}, ok},
		{"errors within the limit", rampv1.Metric{Count: ptr.To[int32](2)}, false, []rampv1.AnalysisPhase{errm, errm, ok, ok}, ok},
		{"too many errors in a row fail", rampv1.Metric{Count: ptr.To[int32](9)}, false, []rampv1.AnalysisPhase{errm, errm, errm, errm, errm}, bad},
		{"errors not in a row", rampv1.Metric{Count: ptr.To[int32](9), ConsecutiveErrorLimit: ptr.To[int32](1)}, false, []rampv1.AnalysisPhase{errm, ok, errm, ok}, rampv1.AnalysisRunning},
		{"inconclusive", rampv1.Metric{Count: ptr.To[int32](3)}, false, []rampv1.AnalysisPhase{ok, unk}, unk},
		{"until terminated keeps going", rampv1.Metric{}, true, []rampv1.AnalysisPhase{ok, ok, ok, ok}, rampv1.AnalysisRunning},
		{"a tolerated gap is measured again", rampv1.Metric{InconclusiveLimit: ptr.To[int32](2)}, false, []rampv1.AnalysisPhase{unk}, rampv1.AnalysisRunning},
		{"a gap then a pass", rampv1.Metric{InconclusiveLimit: ptr.To[int32](2)}, false, []rampv1.AnalysisPhase{unk, ok}, ok},
		{"gaps past the limit", rampv1.Metric{InconclusiveLimit: ptr.To[int32](2)}, false, []rampv1.AnalysisPhase{unk, unk, unk}, unk},
		{"tolerated failures are not a pass", rampv1.Metric{FailureLimit: ptr.To[int32](1)}, false, []rampv1.AnalysisPhase{bad}, unk},
		{"an error is measured again", rampv1.Metric{}, false, []rampv1.AnalysisPhase{errm, ok}, ok},
		{"a gap tolerated among passes", rampv1.Metric{Count: ptr.To[int32](2), InconclusiveLimit: ptr.To[int32](1)}, false, []rampv1.AnalysisPhase{ok, unk, ok}, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &rampv1.MetricResult{Name: "m", Phase: rampv1.AnalysisRunning}
			for _, p := range tt.seq {
				Record(&tt.metric, r, rampv1.Measurement{Phase: p}, tt.until)
			}
			if r.Phase != tt.want {
				t.Errorf("phase %s (%s), want %s", r.Phase, r.Message, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &rampv1.Metric{Interval: &metav1.Duration{Duration: 10 * time.Second}, InitialDelay: &metav1.Duration{Duration: 5 * time.Second}}
	r := &rampv1.MetricResult{Phase: rampv1.AnalysisRunning}
	if at, ok := Due(m, r, start); !ok || !at.Equal(start.Add(5*time.Second)) {
		t.Errorf("first measurement due %v, want after the initial delay", at)
	}
	finished := metav1.NewMicroTime(start.Add(7 * time.Second))
	r.Measurements = []rampv1.Measurement{{StartedAt: metav1.NewMicroTime(start.Add(5 * time.Second)), FinishedAt: &finished}}
	if at, ok := Due(m, r, start); !ok || !at.Equal(start.Add(17*time.Second)) {
		t.Errorf("next measurement due %v, want an interval after the last finished", at)
	}
	r.Phase = rampv1.AnalysisSuccessful
	if _, ok := Due(m, r, start); ok {
		t.Error("a finished metric is never due")
	}
}

func TestVerdict(t *testing.T) {
	got, msg := Verdict([]rampv1.MetricResult{
		{Name: "latency", Phase: rampv1.AnalysisSuccessful},
		{Name: "errors", Phase: rampv1.AnalysisFailed, Message: "too many 5xx"},
		{Name: "other", Phase: rampv1.AnalysisInconclusive},
	})
	if got != rampv1.AnalysisFailed || msg != "metric errors: too many 5xx" {
		t.Errorf("got %s %q", got, msg)
	}
}
