package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Take measures a metric once with p and judges the result with conds. A
// provider fault, or a condition that cannot be evaluated on the result,
// is an Error measurement carrying the message.
func Take(ctx context.Context, p Provider, m *rampv1.Metric, conds *Conditions, vars Vars, now func() time.Time) (ms rampv1.Measurement) {
	ms.StartedAt = metav1.NewMicroTime(now())
	// Named, so that the deferred stamp reaches what is returned.
	defer func() { ms.FinishedAt = &metav1.MicroTime{Time: now()} }()

	// What a provider says goes into the run's status: a long message or
	// value (an error page, a large vector) is cut, so that ten of them
	// still fit in one status write.
	defer func() { ms.Value, ms.Message = cut(ms.Value), cut(ms.Message) }()
	result, err := p.Measure(ctx, m, vars)
	switch {
	case errors.Is(err, ErrEmpty):
		result = nil
	case errors.Is(err, ErrPending):
		ms.Phase, ms.Message = rampv1.AnalysisRunning, err.Error()
		return ms
	case errors.Is(err, ErrInconclusive):
		ms.Phase, ms.Message = rampv1.AnalysisInconclusive, err.Error()
		return ms
	case err != nil:
		ms.Phase, ms.Message = rampv1.AnalysisError, err.Error()
		return ms
	}
	ms.Value = Format(result)
	phase, msg, err := conds.Judge(result, vars.Args)
	if err != nil {
		ms.Phase, ms.Message = rampv1.AnalysisError, err.Error()
		return ms
	}
	ms.Phase, ms.Message = phase, msg
	return ms
}

// maxText bounds a measurement's value and message in status.
const maxText = 1024

func cut(s string) string {
	if len(s) <= maxText {
		return s
	}
	n := maxText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Format writes a result for people.
func Format(r Result) string {
	switch v := r.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'g', 6, 64)
	case []float64:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.FormatFloat(x, 'g', 6, 64)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "?"
	}
	return string(b)
}
