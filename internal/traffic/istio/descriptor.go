package istio

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// The rights the Istio router needs: the user's VirtualService and
// DestinationRule, which it edits and never creates.
//
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices;destinationrules,verbs=get;list;watch;update;patch

// Descriptor registers the Istio router (trafficRouting.istio).
var Descriptor = traffic.Descriptor{
	Name:     "Istio",
	Mesh:     true,
	Selected: func(s *rampv1.Strategy) bool { tr := s.Routing(); return tr != nil && tr.Istio != nil },
	New:      func(k traffic.Kube, ro *rampv1.Rollout) traffic.Router { return New(k, ro) },
	Objects: func(ro *rampv1.Rollout) []string {
		cfg := ro.Spec.Strategy.Canary.TrafficRouting.Istio
		return []string{"VirtualService/" + cfg.VirtualService.Name, "DestinationRule/" + cfg.DestinationRule.Name}
	},
	Kinds: []traffic.Kind{
		{GroupKind: schema.GroupKind{Group: Group, Kind: "VirtualService"}, Versions: Versions},
		{GroupKind: schema.GroupKind{Group: Group, Kind: "DestinationRule"}, Versions: Versions},
	},
	// Istio routes to subsets of the root Service: both revisions are
	// the root Service's pods, told apart by their revision label. A
	// blue/green Rollout's checks reach each version through its active
	// and preview Services, which the router keeps (previewServices).
	Services: func(ro *rampv1.Rollout) (string, string) {
		if ro.Spec.Strategy.BlueGreen != nil {
			return traffic.StableServiceName(ro), traffic.CanaryServiceName(ro)
		}
		return ro.Spec.Service, ro.Spec.Service
	},
}
