// Package traffic shapes how requests are shared between the stable and the
// canary revision of a Rollout. A Router is one way of doing it: pod ratio
// (package podratio), or weights written into a mesh or route resource
// (packages smi, gatewayapi and istio).
package traffic

import (
	"context"
	"fmt"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Pods counts the available pods of the two revisions a canary compares.
type Pods struct {
	Stable, Canary int32
}

// Target is where a router sends traffic.
type Target struct {
	// Stable and Canary are the pod-template hashes of the two revisions;
	// they are equal when no canary is in flight.
	Stable, Canary string
	// Weight is the canary's share.
	Weight rampv1.Weight
	// Rest is true between canaries once the old revision is gone:
	// routers then take back what they add only for a canary (Istio's
	// subset labels), leaving the objects as they were apart from weights.
	Rest bool
}

// Change is one write a router made to bring an object to its target.
type Change struct {
	// Object names what was written, e.g. "TrafficSplit web".
	Object string
	// Created is true when the object was missing.
	Created bool
	// Detail says what changed, for events.
	Detail string
}

// Router shapes traffic for one Rollout.
type Router interface {
	// Replicas returns how many pods each revision runs while the canary
	// is asked to take weight w, out of the Rollout's replicas.
	Replicas(replicas int32, w rampv1.Weight) (canary, stable int32)

	// SetWeight makes the routing objects send t.Weight to the canary
	// revision and the rest to the stable one. It creates what is missing
	// and puts back what was edited by hand, writing only what differs;
	// it returns the writes it made.
	SetWeight(ctx context.Context, t Target) ([]Change, error)

	// Verify returns the weight the canary actually receives, read back
	// from the routing objects (or, for pod ratio, from the pods).
	Verify(ctx context.Context, pods Pods) (rampv1.Weight, error)

	// Cleanup runs before the Rollout is deleted: objects Ramp does not own
	// are given back working without Ramp's stable and canary Services,
	// which go with the Rollout, and without Ramp's additions.
	Cleanup(ctx context.Context) ([]Change, error)
}

// ConfigError is a router fault the user must fix: a missing root Service,
// a route rule that does not exist. The controller reports it in status and
// events and waits for a change instead of retrying.
type ConfigError struct {
	Reason  string // CamelCase, for the condition
	Message string // names the field or object and the fix
}

func (e *ConfigError) Error() string { return e.Message }

// Configf builds a ConfigError.
func Configf(reason, format string, args ...any) error {
	return &ConfigError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}
