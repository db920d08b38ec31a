package traffic

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Split is a canary weight as the two backend weights a routing resource
// holds. Routers that read weights as relative (SMI v1alpha2+, Gateway API,
// Istio 1.13+) carry any Weight exactly.
type Split struct {
	Stable, Canary int64
}

// Relative expresses w as whole backend weights, percentages when w is a
// whole percentage (25 → 75:25) and scaled by the smallest power of ten
// otherwise (0.1 → 999:1, 0.125 → 99875:125), so that people reading the
// resource recognise the weight.
func Relative(w rampv1.Weight) Split {
	w = clamp(w)
	canary, stable := int64(w), int64(rampv1.FullWeight-w)
	scale := int64(rampv1.WeightScale) // units per percent
	for scale > 1 && canary%scale != 0 {
		scale /= 10
	}
	// Both sides are multiples of the same scale, since their sum is one.
	return Split{Stable: stable / scale, Canary: canary / scale}
}

// Percent expresses a whole-percentage w as integer percentages summing to
// 100, for routers that need them (Istio before 1.13). ok is false when w
// has decimals: those cannot be expressed, and admission refuses them.
func Percent(w rampv1.Weight) (s Split, ok bool) {
	w = clamp(w)
	if !w.IsWhole() {
		return Split{}, false
	}
	p := int64(w / rampv1.WeightScale)
	return Split{Stable: 100 - p, Canary: p}, true
}

// Share reads a split back as the canary's weight, rounded down to the
// weight's precision. An empty split (both zero) sends nothing anywhere and
// reads as 0.
func (s Split) Share() rampv1.Weight {
	total := s.Stable + s.Canary
	if total <= 0 || s.Canary <= 0 {
		return 0
	}
	return rampv1.Weight(s.Canary * int64(rampv1.FullWeight) / total)
}

func clamp(w rampv1.Weight) rampv1.Weight {
	return min(max(w, 0), rampv1.FullWeight)
}
