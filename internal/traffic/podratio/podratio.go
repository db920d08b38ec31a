// Package podratio shapes traffic with no mesh: the root Service selects the
// pods of both revisions, so each gets traffic in proportion to its ready
// pods. Coarse (4 replicas cannot carry 1%) and as slow as pods start and
// stop, but it needs nothing installed.
package podratio

import (
	"context"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Router is the pod-ratio router. It holds no state.
type Router struct{}

var _ traffic.Router = Router{}

// Replicas gives the canary round(replicas × w / 100) pods, at least one
// when w > 0 and at most all of them, and the stable revision the rest.
func (Router) Replicas(replicas int32, w rampv1.Weight) (canary, stable int32) {
	if w <= 0 || replicas <= 0 {
		return 0, replicas
	}
	// Round half up, in exact integer arithmetic on thousandths of a percent.
	c := (int64(replicas)*int64(w) + int64(rampv1.FullWeight)/2) / int64(rampv1.FullWeight)
	c = min(max(c, 1), int64(replicas))
	return int32(c), replicas - int32(c)
}

// SetWeight has nothing to write: the pods carry the weight.
func (Router) SetWeight(context.Context, traffic.Target) ([]traffic.Change, error) { return nil, nil }

// Verify is the canary's share of all available pods.
func (Router) Verify(_ context.Context, pods traffic.Pods) (traffic.Reading, error) {
	return traffic.Reading{Weight: Share(pods)}, nil
}

// Cleanup has nothing to take back.
func (Router) Cleanup(context.Context) ([]traffic.Change, error) { return nil, nil }

// Share is the canary's share of all available pods, rounded down to the
// weight's precision.
func Share(pods traffic.Pods) rampv1.Weight {
	total := int64(pods.Stable) + int64(pods.Canary)
	if total == 0 {
		return 0
	}
	return rampv1.Weight(int64(pods.Canary) * int64(rampv1.FullWeight) / total)
}
