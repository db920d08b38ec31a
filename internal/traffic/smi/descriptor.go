package smi

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// The rights the SMI router needs: its TrafficSplit, and the stable and
// canary Services (traffic.EnsureServices).
//
// +kubebuilder:rbac:groups=split.smi-spec.io,resources=trafficsplits,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch

// Descriptor registers the SMI router (trafficRouting.smi).
var Descriptor = traffic.Descriptor{
	Name:     "SMI",
	Mesh:     true,
	Selected: func(s *rampv1.Strategy) bool { tr := s.Routing(); return tr != nil && tr.SMI != nil },
	New:      func(k traffic.Kube, ro *rampv1.Rollout) traffic.Router { return New(k, ro) },
	Objects:  func(ro *rampv1.Rollout) []string { return []string{"TrafficSplit/" + Name(ro)} },
	Kinds:    []traffic.Kind{{GroupKind: GroupKind, Versions: Versions, Created: true}},
}
