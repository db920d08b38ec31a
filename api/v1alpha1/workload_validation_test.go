package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestWorkloadModeAdmission: InPlace needs a mesh router for a
// Deployment, a StatefulSet is run in place only (with pod ratio too), and
// the mode is one of two.
func TestWorkloadModeAdmission(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	workload := func(mode string, mesh bool, kind ...string) func(map[string]any) {
		return func(s map[string]any) {
			delete(s, "template")
			s["workloadRef"] = map[string]any{"name": "web", "mode": mode}
			if len(kind) > 0 {
				s["workloadRef"].(map[string]any)["kind"] = kind[0]
			}
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
		{"a StatefulSet in place with a mesh", workload("InPlace", true, "StatefulSet"), nil},
		{"a StatefulSet in place by pod ratio", workload("InPlace", false, "StatefulSet"), nil},
		{"a StatefulSet adopted", workload("Adopt", true, "StatefulSet"), []string{"spec.workloadRef of kind StatefulSet needs mode InPlace"}},
		{"a DaemonSet", workload("InPlace", true, "DaemonSet"), []string{"spec.workloadRef.kind", "Unsupported value"}},
	} {
		t.Run(tt.name, func(t *testing.T) { admit(t, c, ns, valid, tt.edit, tt.wantErr) })
	}
}

// TestWorkloadRefIsImmutable: a Rollout cannot move its workload between
// Adopt and InPlace, nor to another kind (its stable revision is that
// workload's); one created before those fields reads Adopt and Deployment.
func TestWorkloadRefIsImmutable(t *testing.T) {
	for _, tc := range []struct {
		field, defaulted, changed string
	}{
		{"mode", "Adopt", "InPlace"},
		{"kind", "Deployment", "StatefulSet"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			c, obj := created(t, valid, func(spec map[string]any) {
				delete(spec, "template")
				spec["workloadRef"] = map[string]any{"name": "web"}
				spec["service"] = "web"
				canary(spec)["trafficRouting"] = map[string]any{"gatewayAPI": map[string]any{}}
			})
			if got, _, _ := unstructured.NestedString(obj.Object, "spec", "workloadRef", tc.field); got != tc.defaulted {
				t.Errorf("%s defaults to %q; want %s", tc.field, got, tc.defaulted)
			}
			u := obj.DeepCopy()
			_ = unstructured.SetNestedField(u.Object, tc.changed, "spec", "workloadRef", tc.field)
			err := c.Update(context.Background(), u)
			if want := "spec.workloadRef." + tc.field + " cannot change"; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s to %s: got %v, want a refusal naming spec.workloadRef.%s", tc.defaulted, tc.changed, err, tc.field)
			}
		})
	}
}
