package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestWorkloadModeAdmission: InPlace needs a mesh router, and the mode is
// one of two.
func TestWorkloadModeAdmission(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	workload := func(mode string, mesh bool) func(map[string]any) {
		return func(s map[string]any) {
			delete(s, "template")
			s["workloadRef"] = map[string]any{"name": "web", "mode": mode}
			if mesh {
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"gatewayAPI": map[string]any{}}
			}
		}
	}
	for _, tt := range []struct {
		name    string
		edit    func(map[string]any)
		wantErr []string
	}{
		{"in place with a mesh", workload("InPlace", true), nil},
		{"in place without a mesh", workload("InPlace", false), []string{"spec.workloadRef.mode InPlace needs spec.strategy.canary.trafficRouting"}},
		{"adopted without a mesh", workload("Adopt", false), nil},
		{"another mode", workload("Beside", true), []string{"spec.workloadRef.mode", "Unsupported value"}},
	} {
		t.Run(tt.name, func(t *testing.T) { admit(t, c, ns, valid, tt.edit, tt.wantErr) })
	}
}

// TestWorkloadModeIsImmutable: a Rollout cannot move its Deployment
// between Adopt and InPlace; one created before the field reads Adopt.
func TestWorkloadModeIsImmutable(t *testing.T) {
	c, obj := created(t, valid, func(spec map[string]any) {
		delete(spec, "template")
		spec["workloadRef"] = map[string]any{"name": "web"}
		spec["service"] = "web"
		canary(spec)["trafficRouting"] = map[string]any{"gatewayAPI": map[string]any{}}
	})
	if mode, _, _ := unstructured.NestedString(obj.Object, "spec", "workloadRef", "mode"); mode != "Adopt" {
		t.Errorf("mode defaults to %q; want Adopt", mode)
	}
	u := obj.DeepCopy()
	_ = unstructured.SetNestedField(u.Object, "InPlace", "spec", "workloadRef", "mode")
	err := c.Update(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "spec.workloadRef.mode cannot change") {
		t.Errorf("Adopt to InPlace: got %v, want a refusal naming spec.workloadRef.mode", err)
	}
}
