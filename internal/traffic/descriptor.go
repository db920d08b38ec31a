package traffic

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Descriptor is all the controller, the analysis values and the dashboard
// need to know of one router. Each router package has one; the registry
// (package routers) lists them, so adding a router is a package and a line.
// A router's package also carries the RBAC markers of the objects it
// writes.
type Descriptor struct {
	// Name is what people see: "pod ratio", "SMI", "Gateway API", "Istio".
	Name string
	// Mesh is true for routers that shape traffic with weights in a
	// routing object (the stable revision then keeps all its pods).
	Mesh bool
	// Selected reports whether a Rollout's strategy asks for this router.
	Selected func(*rampv1.Strategy) bool
	// New makes the router of one Rollout, for one reconcile pass.
	New func(Kube, *rampv1.Rollout) Router
	// Objects names the routing objects a Rollout's router reads besides
	// its root Service, as "Kind/name": their changes wake the Rollout.
	Objects func(*rampv1.Rollout) []string
	// Kinds are the routing kinds to watch, each at the versions the
	// router reads, newest first.
	Kinds []Kind
	// Services are the names analysis templates see as the stable and the
	// canary Service ({{args.stable-service}}); nil: Ramp's stable and
	// canary Services with a mesh router, the root Service without.
	Services func(*rampv1.Rollout) (stable, canary string)
}

// Kind is a routing kind and the versions of it a router reads.
type Kind struct {
	schema.GroupKind
	Versions []string
	// Created: Ramp creates the objects of this kind itself; those of the
	// others are the user's, and must exist before a canary needs them.
	Created bool
}

// AnalysisServices names the stable and canary Services for analysis.
func (d Descriptor) AnalysisServices(ro *rampv1.Rollout) (stable, canary string) {
	switch {
	case d.Services != nil:
		return d.Services(ro)
	case d.Mesh:
		return StableServiceName(ro), CanaryServiceName(ro)
	}
	return ro.Spec.Service, ro.Spec.Service
}

// ServedVersion returns the first of versions (newest first) the cluster
// serves for gk; ok is false when it serves none of them.
func ServedVersion(mapper meta.RESTMapper, gk schema.GroupKind, versions []string) (version string, ok bool, err error) {
	mappings, err := mapper.RESTMappings(gk)
	if err != nil && !meta.IsNoMatchError(err) {
		return "", false, err
	}
	for _, v := range versions {
		for _, m := range mappings {
			if m.GroupVersionKind.Version == v {
				return v, true, nil
			}
		}
	}
	return "", false, nil
}
