package smi

import (
	"k8s.io/apimachinery/pkg/api/resource"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// backends encodes the two backends for a TrafficSplit version. v1alpha1
// weights are quantities: Ramp writes the percentages themselves, exactly
// ("99900m" and "100m" for 0.1%). Later versions take integers, read as
// relative weights (999 and 1).
func backends(version, stable, canary string, w rampv1.Weight) []any {
	var sw, cw any
	if version == "v1alpha1" {
		full := int64(rampv1.FullWeight) // milli-percent units are the Weight's own
		sw = resource.NewMilliQuantity(full-int64(w), resource.DecimalSI).String()
		cw = resource.NewMilliQuantity(int64(w), resource.DecimalSI).String()
	} else {
		split := traffic.Relative(w)
		sw, cw = split.Stable, split.Canary
	}
	return []any{
		map[string]any{"service": stable, "weight": sw},
		map[string]any{"service": canary, "weight": cw},
	}
}

// weightOf reads a backend weight in thousandths, whichever way it was
// written: a quantity string ("500m", "25") or a JSON number.
func weightOf(v any) int64 {
	switch w := v.(type) {
	case string:
		q, err := resource.ParseQuantity(w)
		if err != nil {
			return -1
		}
		return q.MilliValue()
	case int64:
		return w * 1000
	case float64:
		return int64(w * 1000)
	case int:
		return int64(w) * 1000
	}
	return -1
}

// share is the canary's weight in a TrafficSplit's backends; every other
// backend counts as stable.
func share(backends []any, canary string) rampv1.Weight {
	var split traffic.Split
	for _, b := range backends {
		m, ok := b.(map[string]any)
		if !ok {
			continue
		}
		w := max(weightOf(m["weight"]), 0)
		if s, _ := m["service"].(string); s == canary {
			split.Canary += w
		} else {
			split.Stable += w
		}
	}
	return split.Share()
}
