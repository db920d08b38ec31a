package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

type answer struct {
	r   Result
	err error
}

func (a answer) Measure(context.Context, *rampv1.Metric, Vars) (Result, error) { return a.r, a.err }

// TestTake: each kind of answer becomes a measurement with its phase,
// value and message, stamped when it started and when it finished.
func TestTake(t *testing.T) {
	m := &rampv1.Metric{Name: "error-rate", SuccessCondition: "result <= 0.01"}
	conds, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		answer     answer
		phase      rampv1.AnalysisPhase
		value, msg string
	}{
		{"passes", answer{r: 0.005}, rampv1.AnalysisSuccessful, "0.005", ""},
		{"fails", answer{r: 0.05}, rampv1.AnalysisFailed, "0.05", "successCondition does not hold"},
		{"no data", answer{err: fmt.Errorf("%w: empty vector", ErrEmpty)}, rampv1.AnalysisInconclusive, "", "no data (empty result or NaN)"},
		{"rate limited past the interval", answer{err: fmt.Errorf("%w: rate limited; resets in 60s", ErrInconclusive)}, rampv1.AnalysisInconclusive, "", "rate limited; resets in 60s"},
		{"provider down", answer{err: errors.New("connection refused")}, rampv1.AnalysisError, "", "connection refused"},
		{"a long error", answer{err: errors.New(strings.Repeat("é", 600))}, rampv1.AnalysisError, "", strings.Repeat("é", 512) + "..."},
		{"not a number", answer{r: "up"}, rampv1.AnalysisError, `"up"`, "successCondition: no such overload"},
	}
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := start
			now := func() time.Time { clock = clock.Add(time.Second); return clock }
			ms := Take(context.Background(), tt.answer, m, conds, Vars{}, now)
			if ms.Phase != tt.phase || ms.Value != tt.value || (tt.msg != "" && !strings.Contains(ms.Message, tt.msg)) || len(ms.Message) > 1024+3 {
				t.Errorf("got %s %q %q, want %s %q %q", ms.Phase, ms.Value, ms.Message, tt.phase, tt.value, tt.msg)
			}
			if !ms.StartedAt.Time.Equal(start.Add(time.Second)) || ms.FinishedAt == nil || !ms.FinishedAt.Time.Equal(start.Add(2*time.Second)) {
				t.Errorf("started %v, finished %v", ms.StartedAt, ms.FinishedAt)
			}
		})
	}
}
