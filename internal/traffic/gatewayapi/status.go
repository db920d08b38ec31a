package gatewayapi

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rampcd/ramp/internal/traffic"
)

// Applied reads what the route's implementations report in
// status.parents: the lowest generation that the Accepted condition of
// every parent in spec.parentRefs observed (0 for a parent with no entry
// yet, or not accepted), and whether any implementation reports at all.
// A Gateway API implementation writes the generation it has programmed
// into its data plane; Ramp takes that as applied.
func Applied(route *unstructured.Unstructured) (int64, bool) {
	statuses, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	if len(statuses) == 0 {
		return 0, false
	}
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	lowest := int64(-1)
	for _, p := range parents {
		ref, _ := p.(map[string]any)
		g := int64(0)
		for _, st := range statuses {
			sm, _ := st.(map[string]any)
			if sref, _ := sm["parentRef"].(map[string]any); sameParent(ref, sref, route.GetNamespace()) {
				g = max(g, accepted(sm))
			}
		}
		if lowest < 0 || g < lowest {
			lowest = g
		}
	}
	return max(lowest, 0), true
}

// accepted is the observedGeneration of a parent status's Accepted
// condition when it is true, else 0.
func accepted(status map[string]any) int64 {
	conds, _, _ := unstructured.NestedSlice(status, "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Accepted" && cm["status"] == "True" {
			return traffic.Int64(cm["observedGeneration"])
		}
	}
	return 0
}

// sameParent compares two parentRefs by the fields that name the parent;
// unset group, kind and namespace take their defaults (Gateway API's
// group, Gateway, the route's namespace).
func sameParent(a, b map[string]any, namespace string) bool {
	if b == nil {
		return false
	}
	field := func(m map[string]any, key, def string) string {
		if v, _ := m[key].(string); v != "" {
			return v
		}
		return def
	}
	for _, k := range []struct{ key, def string }{
		{"group", GVK.Group}, {"kind", "Gateway"}, {"namespace", namespace}, {"name", ""}, {"sectionName", ""},
	} {
		if field(a, k.key, k.def) != field(b, k.key, k.def) {
			return false
		}
	}
	return traffic.Int64(a["port"]) == traffic.Int64(b["port"])
}
