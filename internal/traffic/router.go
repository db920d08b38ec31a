// Package traffic shapes how requests are shared between the stable and the
// canary revision of a Rollout. A Router is one way of doing it: pod ratio
// (package podratio), or weights written into a mesh or route resource.
package traffic

import (
	"context"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Pods counts the available pods of the two revisions a canary compares.
type Pods struct {
	Stable, Canary int32
}

// Router shapes traffic for one Rollout.
type Router interface {
	// Replicas returns how many pods each revision runs while the canary
	// is asked to take weight w, out of the Rollout's replicas.
	Replicas(replicas int32, w rampv1.Weight) (canary, stable int32)

	// SetWeight routes weight w to the canary. Routers that shape traffic
	// with pods have nothing to write.
	SetWeight(ctx context.Context, w rampv1.Weight) error

	// Reached returns the weight the canary actually receives, given the
	// available pods of each revision.
	Reached(ctx context.Context, pods Pods) (rampv1.Weight, error)
}
