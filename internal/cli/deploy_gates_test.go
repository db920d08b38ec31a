package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

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
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "later targets are not deployed") {
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
