package gatewayapi

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// The rights the Gateway API router needs: its HTTPRoute, and the stable
// and canary Services (traffic.EnsureServices).
//
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch

// Descriptor registers the Gateway API router (trafficRouting.gatewayAPI).
var Descriptor = traffic.Descriptor{
	Name:     "Gateway API",
	Mesh:     true,
	Selected: func(s *rampv1.Strategy) bool { tr := s.Routing(); return tr != nil && tr.GatewayAPI != nil },
	New:      func(k traffic.Kube, ro *rampv1.Rollout) traffic.Router { return New(k, ro) },
	Objects:  func(ro *rampv1.Rollout) []string { return []string{"HTTPRoute/" + Name(ro)} },
	Kinds:    []traffic.Kind{{GroupKind: GVK.GroupKind(), Versions: []string{GVK.Version}}},
}
