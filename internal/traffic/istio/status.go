package istio

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rampcd/ramp/internal/traffic"
)

// Applied reads what Istio reports of an object when its status reporting
// is on (PILOT_ENABLE_STATUS with config distribution tracking): the
// generation whose Reconciled condition is true, which Istio sets once
// every proxy acknowledged the configuration. Without a Reconciled
// condition, Istio reports nothing.
func Applied(obj *unstructured.Unstructured) (int64, bool) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] != "Reconciled" {
			continue
		}
		if cm["status"] != "True" {
			return 0, true
		}
		// Istio writes status.observedGeneration (the generation the
		// Reconciled condition refers to); newer releases put it on the
		// condition too. Protobuf's JSON may write an int64 as a string.
		g := traffic.Int64(obj.Object["status"].(map[string]any)["observedGeneration"])
		return max(g, traffic.Int64(cm["observedGeneration"])), true
	}
	return 0, false
}
