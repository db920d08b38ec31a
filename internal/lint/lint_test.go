package lint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/rampcd/ramp/internal/manifest"
)

const rollout = `
apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:v1}]}
  strategy:
    canary:
      steps:
      - setWeight: 25
      - pause: {}
`

// TestValidate checks objects offline against the embedded CRDs: the
// same rules as TestAdmission, which applies them to a real API server.
func TestValidate(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to string
		want           []string
	}{
		{name: "valid"},
		{name: "a weight over 100", from: "setWeight: 25", to: "setWeight: 250",
			want: []string{"spec.strategy.canary.steps[0].setWeight", "less than or equal to 100"}},
		{name: "a CEL rule", from: "- pause: {}", to: "- pause: {}\n        setWeight: 5",
			want: []string{"spec.strategy.canary.steps[1]", "exactly one of setWeight, pause, analysis, webhook, job, setHeaderRoute, setCookieRoute and setMirrorRoute"}},
		{name: "template and workloadRef", from: "  strategy:", to: "  workloadRef: {name: web}\n  strategy:",
			want: []string{"spec", "exactly one of spec.template and spec.workloadRef"}},
		{name: "in place without a mesh", from: "  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web:v1}]}\n",
			to:   "  workloadRef: {name: web, mode: InPlace}\n",
			want: []string{"spec", "spec.workloadRef.mode InPlace needs spec.strategy.canary.trafficRouting"}},
		{name: "a StatefulSet adopted", from: "  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web:v1}]}\n",
			to:   "  workloadRef: {kind: StatefulSet, name: web}\n",
			want: []string{"spec", "spec.workloadRef of kind StatefulSet needs mode InPlace"}},
		{name: "an unknown field", from: "replicas: 2", to: "replica: 2",
			want: []string{"spec.replica", "unknown field"}},
		{name: "a bad duration", from: "- pause: {}", to: "- pause: {duration: soon}",
			want: []string{"spec.strategy.canary.steps[1].pause.duration", "should match"}},
		{name: "a missing field", from: "      steps:\n      - setWeight: 25\n      - pause: {}\n", to: "      maxSurge: 1\n",
			want: []string{"spec.strategy.canary.steps", "Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(rollout, tt.from, tt.to, 1)
			if tt.from != "" && doc == rollout {
				t.Fatalf("%q is not in the document", tt.from)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
				t.Fatal(err)
			}
			errs := s.Validate(context.Background(), obj)
			if len(tt.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs.ToAggregate())
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("accepted, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs.ToAggregate().Error(), w) {
					t.Errorf("errors do not contain %q: %v", w, errs.ToAggregate())
				}
			}
		})
	}
}

// TestDocExamples: the complete examples in docs/examples (and the GitOps
// example's application) pass the same checks as `ramp lint`.
func TestDocExamples(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	files = append(files, filepath.Join("..", "..", "docs", "examples", "gitops", "app", "web.yaml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, doc := range manifest.Documents(data) {
			if doc.Err != nil {
				t.Fatalf("%s: document %d: %v", f, doc.Index, doc.Err)
			}
			if !s.Knows(doc.Object.GroupVersionKind()) {
				continue
			}
			checked++
			if errs := s.Validate(context.Background(), doc.Object); len(errs) > 0 {
				t.Errorf("%s: %s %s: %v", f, doc.Object.GetKind(), doc.Object.GetName(), errs.ToAggregate())
			}
		}
		if checked == 0 {
			t.Errorf("%s holds no Ramp object", f)
		}
	}
}
