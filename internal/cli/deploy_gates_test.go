package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestDeployGates deploys a target with constraints: a pause and a webhook
// before its objects are applied, an analysis on a real Prometheus and a
// failing webhook once its rollout is Healthy. The failed gate leaves the
// target deployed and stops the target that depends on it.
func TestDeployGates(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	ctx := context.Background()
	prom, err := dataplane.StartPrometheus(ctx, t.TempDir(), filepath.Join(t.TempDir(), "targets.json"), "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })

	var rolloutBeforeFreeze atomic.Value // error from reading the Rollout when the freeze check ran
	tests := fixture.NewTestSystem(t, func(_ int, c fixture.Call) (int, string) {
		if strings.HasPrefix(c.Path, "/freeze") {
			rolloutBeforeFreeze.CompareAndSwap(nil, fmt.Sprint(e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, &rampv1.Rollout{})))
			return http.StatusOK, `{}`
		}
		return http.StatusInternalServerError, `smoke tests failed`
	})
	raw, err := clientcmd.LoadFromFile(clustertest.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "deploy.yml")
	write := func(name, doc string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:v1}]}
`)
	write("deploy.yml", fmt.Sprintf(`version: v1
kind: kubernetes
application: web
targets:
  prod:
    account: %[1]s
    namespace: %[2]s
    strategy: canary
    constraints:
      beforeDeployment:
      - pause: {duration: 1, unit: seconds}
      - runWebhook: {name: freeze}
      afterDeployment:
      - analysis: {interval: 1, units: seconds, numberOfJudgmentRuns: 1, queries: [errors], metricProviderName: prom}
      - runWebhook: {name: smoke}
  later:
    account: %[1]s
    namespace: %[2]s
    strategy: canary
    constraints: {dependsOn: [prod]}
manifests:
- path: web.yaml
  targets: [prod]
- inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: later}}"
  targets: [later]
strategies:
  canary: {canary: {steps: [{setWeight: 50}]}}
analysis:
  queries:
  - {name: errors, queryTemplate: "vector(0.002)", upperLimit: 0.01}
webhooks:
- {name: freeze, method: GET, uriTemplate: "%[3]s/freeze?app={{armory.applicationName}}", disableCallback: true}
- {name: smoke, method: POST, uriTemplate: "%[3]s/smoke", disableCallback: true}
`, raw.CurrentContext, e.NS, tests.URL))

	if _, err := ramp(t, e, "deploy", "-f", file, "--metric-provider", "prom="+prom.URL); err == nil ||
		!strings.Contains(err.Error(), "targets.prod.constraints.afterDeployment[0] runs once the target's rollouts are Healthy: deploy with --watch") {
		t.Fatalf("afterDeployment without --watch: %v", err)
	}
	if calls := tests.Calls(); len(calls) != 0 {
		t.Fatalf("a refused deploy called %d webhooks", len(calls))
	}

	deploy := func() string {
		t.Helper()
		out, err := ramp(t, e, "deploy", "-f", file, "--watch", "--metric-provider", "prom="+prom.URL)
		want := "target prod: targets.prod.constraints.afterDeployment[1]: webhook failed"
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the targets that depend on it are not deployed") {
			t.Fatalf("deploy: %v, want %q\n%s", err, want, out)
		}
		return out
	}
	out := deploy()
	for _, want := range []string{
		"prod: targets.prod.constraints.beforeDeployment[0]: pausing 1s",
		"prod: targets.prod.constraints.beforeDeployment[1]: webhook passed",
		"prod: rollout " + e.NS + "/web is Healthy",
		"prod: targets.prod.constraints.afterDeployment[0]: analysis passed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	if got, _ := rolloutBeforeFreeze.Load().(string); !strings.Contains(got, "not found") {
		t.Errorf("the beforeDeployment webhook ran when the Rollout was there (%q)", got)
	}
	if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "later"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the target after the failed gate was deployed: %v", err)
	}
	ro := &rampv1.Rollout{}
	if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, ro); err != nil || ro.Status.Phase != rampv1.PhaseHealthy {
		t.Errorf("a failed afterDeployment gate rolled the target back: %v %s", err, ro.Status.Phase)
	}

	// Deployed again, the target's gates replace their earlier runs.
	deploy()
	for event, want := range map[string]int{"BeforeDeployment": 1, "AfterDeployment": 1} {
		var hooks rampv1.HookRunList
		if err := e.C.List(ctx, &hooks, client.InNamespace(e.NS), client.MatchingLabels{"ramp.dev/deploy-target": "prod", "ramp.dev/deploy-gate": event}); err != nil || len(hooks.Items) != want {
			t.Errorf("%s hook runs: %v, %d, want %d", event, err, len(hooks.Items), want)
		}
	}
}

// TestDeployTargetsSideBySide: targets that do not depend on each other
// are deployed at once. Target a's beforeDeployment webhook answers only
// once target b's has been called: deployed one after the other, a would
// wait for b in vain and fail. Target c, which depends on a, comes after
// it. Each target's output is printed in one piece.
func TestDeployTargetsSideBySide(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	ctx := context.Background()
	bCalled := make(chan struct{})
	var once sync.Once
	tests := fixture.NewTestSystem(t, func(_ int, c fixture.Call) (int, string) {
		switch c.Path {
		case "/b":
			once.Do(func() { close(bCalled) })
		case "/a":
			select {
			case <-bCalled:
			case <-time.After(8 * time.Second): // within the webhook's 10 s
				return http.StatusInternalServerError, "target b's gate was not called while a's waited: the targets ran one after the other"
			}
		}
		return http.StatusOK, `{}`
	})
	raw, err := clientcmd.LoadFromFile(clustertest.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "deploy.yml")
	target := func(name, deps string) string {
		return fmt.Sprintf(`  %[1]s:
    account: %[2]s
    namespace: %[3]s
    strategy: canary
    constraints: {dependsOn: [%[4]s], beforeDeployment: [{runWebhook: {name: %[1]s}}]}
`, name, raw.CurrentContext, e.NS, deps)
	}
	doc := "version: v1\nkind: kubernetes\napplication: web\ntargets:\n" + target("a", "") + target("b", "") + target("c", "a") + "manifests:\n"
	for _, name := range []string{"a", "b", "c"} {
		doc += fmt.Sprintf("- {inline: \"{apiVersion: v1, kind: ConfigMap, metadata: {name: %[1]s}}\", targets: [%[1]s]}\n", name)
	}
	doc += "strategies:\n  canary: {canary: {steps: [{setWeight: 50}]}}\nwebhooks:\n"
	for _, name := range []string{"a", "b", "c"} {
		doc += fmt.Sprintf("- {name: %[1]s, method: GET, uriTemplate: \"%[2]s/%[1]s\", disableCallback: true}\n", name, tests.URL)
	}
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ramp(t, e, "deploy", "-f", file)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	for _, name := range []string{"a", "b", "c"} {
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: name}, &corev1.ConfigMap{}); err != nil {
			t.Errorf("target %s: %v", name, err)
		}
	}
	// One piece per target: once a target's lines end, none of it comes back.
	seen, last := map[string]bool{}, ""
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, line := range lines {
		name, _, _ := strings.Cut(line, ":")
		if name != last && seen[name] {
			t.Errorf("target %s's output is split by another's:\n%s", name, out)
			break
		}
		seen[name], last = true, name
	}
	if ia, ic := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "a:") }),
		slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "c:") }); ia < 0 || ic < ia {
		t.Errorf("target c, which depends on a, ended before it:\n%s", out)
	}
}
