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
	canary = traffic.ProportionalPods(replicas, w)
	return canary, max(replicas, 0) - canary
}

// SetWeight has nothing to write: the pods carry the weight.
func (Router) SetWeight(context.Context, traffic.Target) ([]traffic.Change, error) { return nil, nil }

// Verify has nothing to read: the weight is the pods' (traffic.PodShare).
func (Router) Verify(context.Context) (traffic.Reading, error) { return traffic.Reading{}, nil }

// Cleanup has nothing to take back.
func (Router) Cleanup(context.Context) ([]traffic.Change, error) { return nil, nil }
