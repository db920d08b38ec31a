package gatewayapi

import (
	"testing"

	"sigs.k8s.io/yaml"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestApplied(t *testing.T) {
	const spec = `
metadata: {namespace: shop, generation: 7}
spec:
  parentRefs:
  - {group: "", kind: Service, name: web, port: 80}
  - {name: public, sectionName: https}
`
	for _, tc := range []struct {
		name    string
		status  string
		applied int64
		reports bool
	}{
		{"no status: the implementation reports nothing", ``, 0, false},
		{"both parents accepted generation 7", `
status:
  parents:
  - parentRef: {group: "", kind: Service, name: web, port: 80}
    conditions: [{type: Accepted, status: "True", observedGeneration: 7}]
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: public, sectionName: https}
    conditions: [{type: ResolvedRefs, status: "True", observedGeneration: 7}, {type: Accepted, status: "True", observedGeneration: 7}]
`, 7, true},
		{"one parent behind: the lower generation", `
status:
  parents:
  - parentRef: {group: "", kind: Service, name: web, port: 80}
    conditions: [{type: Accepted, status: "True", observedGeneration: 7}]
  - parentRef: {name: public, sectionName: https}
    conditions: [{type: Accepted, status: "True", observedGeneration: 6}]
`, 6, true},
		{"a parent with no entry yet", `
status:
  parents:
  - parentRef: {group: "", kind: Service, name: web, port: 80}
    conditions: [{type: Accepted, status: "True", observedGeneration: 7}]
`, 0, true},
		{"not accepted", `
status:
  parents:
  - parentRef: {group: "", kind: Service, name: web, port: 80}
    conditions: [{type: Accepted, status: "False", observedGeneration: 7}]
  - parentRef: {name: public, sectionName: https}
    conditions: [{type: Accepted, status: "True", observedGeneration: 7}]
`, 0, true},
		{"an entry for another port does not count", `
status:
  parents:
  - parentRef: {group: "", kind: Service, name: web, port: 8080}
    conditions: [{type: Accepted, status: "True", observedGeneration: 7}]
  - parentRef: {name: public, sectionName: https}
    conditions: [{type: Accepted, status: "True", observedGeneration: 7}]
`, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(spec+tc.status), &u.Object); err != nil {
				t.Fatal(err)
			}
			applied, reports := Applied(u)
			if applied != tc.applied || reports != tc.reports {
				t.Errorf("Applied = %d, %v; want %d, %v", applied, reports, tc.applied, tc.reports)
			}
		})
	}
}
