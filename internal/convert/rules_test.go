package convert

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// argoCRDs reads Argo Rollouts' CRDs from the module the repository's
// tools pin (test/localcluster/tools/argorollouts), through the Go module
// cache. It fails when the module cannot be found: the table's coverage
// is checked against the real schema or not at all.
func argoCRDs(t *testing.T) map[string]*apiextensionsv1.JSONSchemaProps {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-rollouts")
	cmd.Dir = filepath.Join("..", "..", "test", "localcluster", "tools", "argorollouts")
	out, err := cmd.Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("cannot find Argo Rollouts' module (go list -m in %s): %v; run `go mod download` there", cmd.Dir, err)
	}
	schemas := map[string]*apiextensionsv1.JSONSchemaProps{}
	for kind, file := range map[string]string{
		"Rollout":                 "rollout-crd.yaml",
		"AnalysisTemplate":        "analysis-template-crd.yaml",
		"ClusterAnalysisTemplate": "cluster-analysis-template-crd.yaml",
	} {
		data, err := os.ReadFile(filepath.Join(dir, "manifests", "crds", file))
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		schemas[kind] = crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	}
	return schemas
}

// leaves lists a schema's leaf fields by path, lists written [], with
// whether each is an object without properties (metadata, plugins).
func leaves(path string, s *apiextensionsv1.JSONSchemaProps, out map[string]bool) {
	switch {
	case len(s.Properties) > 0:
		for k, v := range s.Properties {
			leaves(join(path, k), &v, out)
		}
	case s.Type == "array" && s.Items != nil && s.Items.Schema != nil:
		leaves(path+"[]", s.Items.Schema, out)
	default:
		out[path] = s.Type == "object"
	}
}

func tableFor(kind string) map[string]Rule {
	if kind == "Rollout" {
		return RolloutRules
	}
	return TemplateRules
}

// covered reports whether a rule covers path: its own, or one on an
// object or list above it, or (for an object the schema leaves open)
// rules below it.
func covered(table map[string]Rule, path string, open bool) bool {
	for r := range table {
		if r == path || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[]") {
			return true
		}
		if open && (strings.HasPrefix(r, path+".") || strings.HasPrefix(r, path+"[]")) {
			return true
		}
	}
	return false
}

// TestRulesCoverArgoCRDs: every field of Argo's three CRDs has a rule, and
// every rule names a field of them.
func TestRulesCoverArgoCRDs(t *testing.T) {
	for kind, schema := range argoCRDs(t) {
		fields := map[string]bool{}
		leaves("", schema, fields)
		if len(fields) < 50 {
			t.Fatalf("%s: the CRD has %d fields; the walk read nothing", kind, len(fields))
		}
		table := tableFor(kind)
		var missing []string
		for f, open := range fields {
			if !strings.HasPrefix(f, "status") && !covered(table, f, open) {
				missing = append(missing, f)
			}
		}
		sort.Strings(missing)
		for _, f := range missing {
			t.Errorf("%s: %s has no rule", kind, f)
		}
		for r := range table {
			if strings.HasPrefix(r, "metadata.") || r == "status" {
				continue
			}
			if !names(fields, r) {
				t.Errorf("%s: the rule %s names no field of Argo's CRD", kind, r)
			}
		}
	}
}

// names reports whether rule r is a field of the schema, above fields of
// it, or inside an object it leaves open.
func names(fields map[string]bool, r string) bool {
	for f, open := range fields {
		if f == r || strings.HasPrefix(f, r+".") || strings.HasPrefix(f, r+"[]") || (open && strings.HasPrefix(r, f+".")) {
			return true
		}
	}
	return false
}

// TestRulesSayWhat: a rule maps, or says why it refuses.
func TestRulesSayWhat(t *testing.T) {
	for _, table := range []map[string]Rule{RolloutRules, TemplateRules} {
		for path, r := range table {
			if (r.Ramp == "") == (r.Refused == "") {
				t.Errorf("%s: a rule maps (Ramp) or refuses (Refused), not both or neither", path)
			}
		}
	}
}
