// Package routers is the registry of traffic routers: the one list the
// controller, its watches and the dashboard read. Adding a router is a
// package with its traffic.Descriptor, and a line here.
package routers

import (
	"context"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/internal/traffic/gatewayapi"
	"github.com/rampcd/ramp/internal/traffic/istio"
	"github.com/rampcd/ramp/internal/traffic/podratio"
	"github.com/rampcd/ramp/internal/traffic/selector"
	"github.com/rampcd/ramp/internal/traffic/smi"
)

// All are the routers Ramp knows, those that need no mesh first.
var All = []traffic.Descriptor{
	podratio.Descriptor,
	selector.Descriptor,
	smi.Descriptor,
	gatewayapi.Descriptor,
	istio.Descriptor,
}

// For returns the router a Rollout's spec asks for. Admission allows only
// the routers above; a newer API naming a router this controller does not
// know gets one that refuses to route, rather than a guess.
func For(ro *rampv1.Rollout) traffic.Descriptor {
	for _, d := range All {
		if d.Selected(&ro.Spec.Strategy) {
			return d
		}
	}
	return unknown
}

// New makes the router of a Rollout read for one pass (and normalized:
// rampv1.Rollout.Normalize). A blue/green preview with fewer pods than
// spec.replicas is sized here, the same for every router.
func New(k traffic.Kube, ro *rampv1.Rollout) traffic.Router {
	r := For(ro).New(k, ro)
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.PreviewReplicaCount != nil {
		return preview{Router: r, replicas: *bg.PreviewReplicaCount}
	}
	return r
}

// preview runs a blue/green's new version with fewer pods while it gets
// no production traffic; it scales to full before the switch.
type preview struct {
	traffic.Router
	replicas int32
}

func (p preview) Replicas(replicas int32, w rampv1.Weight) (int32, int32) {
	canary, stable := p.Router.Replicas(replicas, w)
	if w == 0 {
		canary = min(canary, p.replicas)
	}
	return canary, stable
}

var unknown = traffic.Descriptor{
	Name:    "unknown",
	Mesh:    true,
	New:     func(traffic.Kube, *rampv1.Rollout) traffic.Router { return unknownRouter{} },
	Objects: func(*rampv1.Rollout) []string { return nil },
}

// unknownRouter keeps every pod stable and refuses every write.
type unknownRouter struct{}

func (unknownRouter) Replicas(replicas int32, _ rampv1.Weight) (int32, int32) { return 0, replicas }

func (unknownRouter) SetWeight(context.Context, traffic.Target) ([]traffic.Change, error) {
	return nil, traffic.Configf("UnknownRouter",
		"spec.strategy.canary.trafficRouting names a router this controller does not know; upgrade Ramp")
}

func (unknownRouter) Verify(context.Context) (traffic.Reading, error) {
	return traffic.Reading{}, nil
}

func (unknownRouter) Cleanup(context.Context) ([]traffic.Change, error) { return nil, nil }
