package istio

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestApplied(t *testing.T) {
	for _, tc := range []struct {
		name    string
		object  string
		applied int64
		reports bool
	}{
		{"status reporting off", `{metadata: {generation: 3}}`, 0, false},
		{"analysis only", `{metadata: {generation: 3}, status: {conditions: [{type: PassedAnalysis, status: "True"}]}}`, 0, false},
		{"reconciled", `{metadata: {generation: 3}, status: {observedGeneration: 3, conditions: [{type: Reconciled, status: "True"}]}}`, 3, true},
		{"generation as protobuf writes an int64", `{status: {observedGeneration: "4", conditions: [{type: Reconciled, status: "True"}]}}`, 4, true},
		{"on the condition", `{status: {conditions: [{type: Reconciled, status: "True", observedGeneration: 5}]}}`, 5, true},
		{"still propagating", `{status: {observedGeneration: 3, conditions: [{type: Reconciled, status: "False", reason: stillPropagating}]}}`, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.object), &u.Object); err != nil {
				t.Fatal(err)
			}
			applied, reports := Applied(u)
			if applied != tc.applied || reports != tc.reports {
				t.Errorf("Applied = %d, %v; want %d, %v", applied, reports, tc.applied, tc.reports)
			}
		})
	}
}
