package convert

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/lint"
	"github.com/rampcd/ramp/internal/manifest"
	"github.com/rampcd/ramp/internal/validation"
)

const baseRollout = `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:v1"}]}
  strategy:
    canary:
      steps: [{setWeight: 20}]
`

const baseTemplate = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: errors, namespace: shop}
spec:
  metrics:
  - name: errors
    successCondition: result[0] < 0.01
    provider: {prometheus: {address: "http://prometheus:9090", query: up}}
`

// convertCase is an Argo object (a base with in merged into it: maps
// merge, lists and scalars replace, null deletes), objects given beside
// it, and what comes out: a part of Ramp's object, or refused fields,
// each a path and a word of the reason.
type convertCase struct {
	name    string
	base    string
	in      string
	with    string
	want    string
	refused map[string]string
}

func rolloutCase(name, in, want string) convertCase {
	return convertCase{name: name, base: baseRollout, in: in, want: want}
}

func refusedRollout(name, in string, refused map[string]string) convertCase {
	return convertCase{name: name, base: baseRollout, in: in, refused: refused}
}

func templateCase(name, in, want string) convertCase {
	return convertCase{name: name, base: baseTemplate, in: in, want: want}
}

func refusedTemplate(name, in string, refused map[string]string) convertCase {
	return convertCase{name: name, base: baseTemplate, in: in, refused: refused}
}

func decode(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range manifest.Documents([]byte(s)) {
		if d.Err != nil {
			t.Fatalf("%v in\n%s", d.Err, s)
		}
		out = append(out, d.Object)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, ok1 := v.(map[string]any)
		dm, ok2 := dst[k].(map[string]any)
		if ok1 && ok2 {
			mergeInto(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// subset reports where want is not part of got: maps by key, lists by
// index and of the same length.
func subset(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %v", path, got)}
		}
		var errs []string
		for k, v := range w {
			errs = append(errs, subset(join(path, k), v, g[k])...)
		}
		return errs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %v, got %v", path, want, got)}
		}
		var errs []string
		for i := range w {
			errs = append(errs, subset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return errs
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return []string{fmt.Sprintf("%s: want %v, got %v", path, want, got)}
	}
	return nil
}

// run converts a case's object and checks what came out; it returns the
// rules applied.
func (tc convertCase) run(t *testing.T, schemas *lint.Schemas) map[string]bool {
	t.Helper()
	obj := decode(t, tc.base)[0]
	if tc.in != "" {
		mergeInto(obj.Object, decode(t, "apiVersion: x\nkind: K\n"+tc.in)[0].Object)
		obj.SetAPIVersion(ArgoVersion)
		obj.SetKind(decode(t, tc.base)[0].GetKind())
	}
	all := []*unstructured.Unstructured{obj}
	if tc.with != "" {
		all = append(all, decode(t, tc.with)...)
	}
	got, used := one(obj, index(all))
	if tc.refused != nil {
		if got.Out != nil {
			t.Fatalf("converted, want refused %v", tc.refused)
		}
		found := map[string]string{}
		for _, p := range got.Problems {
			found[p.Path] = p.Reason
		}
		for path, word := range tc.refused {
			if r, ok := found[path]; !ok || !strings.Contains(r, word) {
				t.Errorf("want %s refused with %q; got %v", path, word, got.Problems)
			}
		}
		if len(found) != len(tc.refused) {
			t.Errorf("refused %v, want exactly %v", got.Problems, tc.refused)
		}
		return used
	}
	if len(got.Problems) > 0 {
		t.Fatalf("refused: %v", got.Problems)
	}
	if tc.want != "" {
		want := decode(t, "apiVersion: ramp.dev/v1alpha1\nkind: "+obj.GetKind()+"\n"+tc.want)[0].Object
		for _, e := range subset("", want, got.Out.Object) {
			t.Error(e)
		}
	}
	valid(t, schemas, got.Out)
	return used
}

// valid checks a converted object with Ramp's own checks: the CRD's schema
// and rules, then what admission adds (selectors, CEL conditions,
// templates).
func valid(t *testing.T, schemas *lint.Schemas, u *unstructured.Unstructured) {
	t.Helper()
	if errs := schemas.Validate(context.Background(), u); len(errs) > 0 {
		t.Errorf("Ramp's schema refuses the converted %s: %v\n%v", u.GetKind(), errs.ToAggregate(), u.Object)
		return
	}
	switch u.GetKind() {
	case "Rollout":
		ro := &rampv1.Rollout{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ro); err != nil {
			t.Fatal(err)
		}
		if errs := validation.Rollout(ro); len(errs) > 0 {
			t.Errorf("Ramp refuses the converted Rollout: %v", errs.ToAggregate())
		}
	default:
		spec := &rampv1.AnalysisTemplateSpec{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(asMap(u.Object["spec"]), spec); err != nil {
			t.Fatal(err)
		}
		if errs := validation.AnalysisTemplate(spec); len(errs) > 0 {
			t.Errorf("Ramp refuses the converted template: %v", errs.ToAggregate())
		}
	}
}

// TestConvert runs every case, and checks that together they apply every
// rule of both tables: each field of Argo's schema is tested.
func TestConvert(t *testing.T) {
	schemas, err := lint.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]map[string]bool{"Rollout": {}, "AnalysisTemplate": {}}
	for _, group := range [][]convertCase{rolloutCases, canaryCases, routingCases, blueGreenCases, templateCases, providerCases} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				kind := "Rollout"
				if tc.base == baseTemplate {
					kind = "AnalysisTemplate"
				}
				for r := range tc.run(t, schemas) {
					used[kind][r] = true
				}
			})
		}
	}
	for kind, table := range map[string]map[string]Rule{"Rollout": RolloutRules, "AnalysisTemplate": TemplateRules} {
		var untested []string
		for r := range table {
			if !used[kind][r] {
				untested = append(untested, r)
			}
		}
		sort.Strings(untested)
		for _, r := range untested {
			t.Errorf("%s: no case applies the rule for %s", kind, r)
		}
	}
}

// TestPassThrough: objects of other kinds come out as they went in;
// Argo's other kinds are refused.
func TestPassThrough(t *testing.T) {
	objs := decode(t, `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: x}
spec: {}
`)
	got := Objects(objs)
	if got[0].Out != objs[0] || got[0].Converted || len(got[0].Problems) > 0 {
		t.Errorf("a Service: %+v", got[0])
	}
	if got[1].Out != nil || !got[1].Converted || len(got[1].Problems) != 1 || !strings.Contains(got[1].Problems[0].Reason, "no counterpart") {
		t.Errorf("an Experiment: %+v", got[1])
	}
	if !reflect.DeepEqual(objs[0].Object["spec"], got[0].Out.Object["spec"]) {
		t.Error("the Service changed")
	}
}
