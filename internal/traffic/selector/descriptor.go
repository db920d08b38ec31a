package selector

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// The rights the selector router needs: the active and preview Services.
//
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch

// Descriptor registers the Service-selector router: blue/green without
// trafficRouting. It counts as a mesh router: it shapes traffic with a
// write (the active Service's selector), not with pod counts, so the old
// version keeps all its pods.
var Descriptor = traffic.Descriptor{
	Name: "Service selectors",
	Mesh: true,
	Selected: func(s *rampv1.Strategy) bool {
		return s.BlueGreen != nil && s.BlueGreen.TrafficRouting == nil
	},
	New: func(k traffic.Kube, ro *rampv1.Rollout) traffic.Router { return New(k, ro) },
	Objects: func(ro *rampv1.Rollout) []string {
		bg := ro.Spec.Strategy.BlueGreen
		return []string{"Service/" + bg.ActiveService, "Service/" + bg.PreviewServiceName()}
	},
	Services: func(ro *rampv1.Rollout) (stable, canary string) {
		bg := ro.Spec.Strategy.BlueGreen
		return bg.ActiveService, bg.PreviewServiceName()
	},
}
