// Package architecture checks the rules of docs/architecture.md: which of
// Ramp's packages may import which. It reads the imports with go list, so
// an import that breaks a rule fails here, naming both packages and the
// rule.
package architecture

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rampcd/ramp/test/localcluster"
)

const module = "github.com/rampcd/ramp/"

// libraries are the packages below the reconcilers: they know the API and
// each other as the rules below say, and nothing of the controller process.
var libraries = []string{
	"api/", "internal/scheme", "internal/outbound", "internal/request", "internal/snapshot", "internal/manifest",
	"internal/lint", "internal/traffic", "internal/analysis", "internal/hooks", "internal/deployfile", "internal/strategy",
	"internal/validation", "internal/tlsserve", "internal/shard", "internal/convert",
}

// rules say, for each package (the longest prefix of its path wins), the
// prefixes of the Ramp packages it may import.
var rules = []struct {
	pkg string
	may []string
	why string
}{
	{"api/", nil, "the API is the bottom layer: Go types and their validation only"},
	{"internal/scheme", []string{"api/"}, "foundations know the API only"},
	{"internal/outbound", []string{"api/"}, "foundations know the API only"},
	{"internal/request", []string{"api/"}, "foundations know the API only"},
	{"internal/snapshot", []string{"api/"}, "foundations know the API only"},
	{"internal/manifest", nil, "foundations know the API only"},
	{"internal/tlsserve", nil, "foundations know the API only"},
	{"internal/shard", []string{"api/"}, "foundations know the API only"},
	{"internal/lint", []string{"api/", "config/crd", "internal/manifest"}, "foundations know the API only (lint reads the CRDs it validates against)"},
	{"internal/traffic", []string{"api/", "internal/traffic"}, "routers know the API and the traffic package, no reconciler"},
	{"internal/analysis", []string{"api/", "internal/outbound", "internal/analysis"}, "metric providers call out through outbound only"},
	{"internal/analysis/job", []string{"api/", "internal/outbound", "internal/analysis", "internal/hooks"}, "the job provider runs the Job a job step runs, and calls out to nothing"},
	{"internal/hooks", []string{"api/", "internal/outbound"}, "webhooks call out through outbound only"},
	{"internal/deployfile", []string{"api/", "internal/analysis", "internal/hooks", "internal/manifest", "internal/outbound"}, "the deploy file turns into API objects"},
	{"internal/strategy", []string{"api/", "internal/traffic"}, "a strategy is pure: the API and traffic's types in, a plan out, no client"},
	{"internal/validation", []string{"api/", "internal/analysis", "internal/hooks", "internal/traffic"}, "validation checks objects with the libraries' own code, and runs nothing"},
	{"internal/convert", []string{"api/"}, "conversion turns Argo Rollouts' manifests into API objects"},
	{"internal/admission", append([]string{"internal/admission"}, libraries...), "admission serves validation to the API server, and knows no reconciler"},
	{"internal/controller/", libraries, "a reconciler uses the libraries, and never another reconciler: they meet in the API's objects"},
	{"internal/manager", append([]string{"internal/controller/", "internal/admission"}, libraries...), "the process wires the reconcilers, and knows no front end"},
	{"internal/dashboard", libraries, "a front end reads and writes the API, and knows no reconciler"},
	{"internal/cli", append([]string{"internal/cli", "internal/dashboard", "internal/manager"}, libraries...), "the CLI runs the front ends and the controller process, never a reconciler directly"},
	{"cmd/", []string{"internal/cli"}, "commands are thin"},
}

func rule(pkg string) (may []string, why string, ok bool) {
	best := -1
	for i, r := range rules {
		if strings.HasPrefix(pkg, r.pkg) && (best < 0 || len(r.pkg) > len(rules[best].pkg)) {
			best = i
		}
	}
	if best < 0 {
		return nil, "", false
	}
	return rules[best].may, rules[best].why, true
}

// imports lists each of the product's packages (not the tests') with the
// Ramp packages it imports.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./api/...", "./internal/...", "./cmd/...")
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		graph[pkg] = nil
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module) {
				graph[pkg] = append(graph[pkg], strings.TrimPrefix(imp, module))
			}
		}
	}
	return graph
}

// TestImportRules: every product package imports only what its layer may.
func TestImportRules(t *testing.T) {
	graph := imports(t)
	if len(graph) < 20 {
		t.Fatalf("go list found %d packages; the test reads nothing", len(graph))
	}
	for pkg, deps := range graph {
		may, why, ok := rule(pkg)
		if !ok {
			t.Errorf("%s is in no layer: add it to the rules here and in docs/architecture.md", pkg)
			continue
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, "test/") {
				t.Errorf("%s imports %s: the product never imports test code", pkg, dep)
				continue
			}
			if !allowed(pkg, dep, may) {
				t.Errorf("%s imports %s, which its layer may not (%s)", pkg, dep, why)
			}
		}
	}
}

func allowed(pkg, dep string, may []string) bool {
	// A reconciler's own sub-packages are its own.
	if strings.HasPrefix(pkg, "internal/controller/") && strings.HasPrefix(dep, pkg+"/") {
		return true
	}
	for _, p := range may {
		if strings.HasPrefix(dep, p) {
			return true
		}
	}
	return false
}

// TestRulesCatchAViolation is the rules' negative control: imports that
// break them are refused.
func TestRulesCatchAViolation(t *testing.T) {
	for _, tc := range []struct{ pkg, dep string }{
		{"internal/controller/rollout", "internal/controller/hookrun"},
		{"internal/traffic/smi", "internal/controller/rollout"},
		{"internal/dashboard", "internal/manager"},
		{"internal/analysis/web", "internal/hooks"},
		{"api/v1alpha1", "internal/traffic"},
		{"internal/hooks", "internal/analysis"},
		{"internal/strategy", "internal/outbound"},
	} {
		may, _, _ := rule(tc.pkg)
		if allowed(tc.pkg, tc.dep, may) {
			t.Errorf("%s may import %s: the rules would miss it", tc.pkg, tc.dep)
		}
	}
}
