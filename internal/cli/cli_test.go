package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/cli"
	"github.com/rampcd/ramp/test/clirun"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) { fixture.Main(m) }

// ramp runs the CLI in-process against the test's namespace and returns
// its output and error.
func ramp(t *testing.T, e *fixture.Env, args ...string) (string, error) {
	t.Helper()
	return run(append([]string{"--kubeconfig", clustertest.Kubeconfig(t), "-n", e.NS}, args...)...)
}

// run runs the CLI in-process with args.
func run(args ...string) (string, error) { return clirun.Run(args...) }

func must(t *testing.T, e *fixture.Env, args ...string) string {
	t.Helper()
	out, err := ramp(t, e, args...)
	if err != nil {
		t.Fatalf("ramp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestCommands drives a canary from the command line: set image, status,
// promote, pause and resume, abort and status --wait, retry, promote
// --full, undo.
func TestCommands(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0), fixture.SetWeight(50), fixture.Pause(0)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	if out := must(t, e, "get"); !strings.Contains(out, "NAME") || !strings.Contains(out, "web    Healthy") {
		t.Errorf("get:\n%s", out)
	}
	var ro rampv1.Rollout
	if err := json.Unmarshal([]byte(must(t, e, "get", "web", "-o", "json")), &ro); err != nil || ro.Kind != "Rollout" || ro.Name != "web" {
		t.Errorf("get -o json: %v %+v", err, ro.TypeMeta)
	}
	if out := must(t, e, "get", "-A"); !strings.Contains(out, e.NS) {
		t.Errorf("get -A:\n%s", out)
	}
	if out, err := ramp(t, e, "status", "web", "--wait", "--timeout", "20s"); err != nil || !strings.Contains(out, "Healthy") {
		t.Errorf("status --wait on a healthy rollout: %v\n%s", err, out)
	}

	must(t, e, "set", "image", "web", "app=web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	out := must(t, e, "status", "web")
	for _, want := range []string{"Paused", "canary 25% asked, 25% reached", "✔ 1 setWeight 25%", "▶ 2 pause until promoted", "web:v2", "CanaryStarted"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	must(t, e, "pause", "web")
	must(t, e, "promote", "web")
	clustertest.Eventually(t, fixture.Wait, "the paused condition", func(ctx context.Context) (bool, string) {
		_, ro, err := e.Observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionPaused)
		return c != nil && c.Reason == "PausedBySpec", ro.Status.Message
	})
	// The promotion is taken, but nothing moves while paused.
	if state, got, err := e.Observe(context.Background(), "web"); err != nil || got.Status.Weight.Asked != rampv1.Percent(25) || state.Replicas != "1:3 2:1" {
		t.Errorf("a paused canary moved: %v %s, weight %s", err, state, got.Status.Weight.Asked)
	}
	must(t, e, "resume", "web")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)

	must(t, e, "abort", "web")
	out, err := ramp(t, e, "status", "web", "--wait", "--timeout", "30s")
	var exit *cli.ExitError
	if !errors.As(err, &exit) || exit.Code != cli.ExitDegraded || !strings.Contains(err.Error(), "Degraded") {
		t.Errorf("status --wait on an aborted canary: %v\n%s", err, out)
	}

	must(t, e, "retry", "web")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	must(t, e, "promote", "web", "--full")
	if out, err := ramp(t, e, "status", "web", "--wait", "--timeout", "30s"); err != nil {
		t.Errorf("status --wait after promote --full: %v\n%s", err, out)
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)

	// Undo puts v1's template back, which Ramp rolls out as a canary (a
	// new revision: the ReplicaSet's copy carries the API server's
	// defaults, so its hash is not revision 1's).
	must(t, e, "undo", "web")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:0 2:3 3:1"}, fixture.Wait)
	if img := e.Get("web").Spec.Template.Spec.Containers[0].Image; img != "web:v1" {
		t.Errorf("undo left image %s", img)
	}
}

// TestErrors: each mistake gets a message that says what to do.
func TestErrors(t *testing.T) {
	e := fixture.New(t)
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25)))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "nope"}, `Rollout "nope" not found in namespace "` + e.NS + `"`},
		{[]string{"get", "-o", "wide"}, `--output "wide": use json or yaml`},
		{[]string{"status", "nope"}, `Rollout "nope" not found`},
		{[]string{"promote", "nope"}, `Rollout "nope" not found`},
		{[]string{"set", "image", "web", "api=web:v2"}, `no container "api" in the pod template; it has "app"`},
		{[]string{"set", "image", "web", "web:v2"}, `"web:v2": write CONTAINER=IMAGE`},
		{[]string{"undo", "web", "--to-revision", "7"}, "rollout web has no revision 7 (revisions kept:"},
		{[]string{"status"}, "accepts 1 arg(s), received 0"},
		{[]string{"controller", "--watch-namespace", "shop"}, "-n and --watch-namespace both name namespaces to watch: use --watch-namespace shop," + e.NS},
	}
	for _, tt := range tests {
		out, err := ramp(t, e, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ramp %s: %v (%s), want an error with %q", strings.Join(tt.args, " "), err, out, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	if out, err := run("version"); err != nil || !strings.HasPrefix(out, "ramp ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %v %s", err, out)
	}
}

// TestLint checks manifests offline and by a server-side dry run.
func TestLint(t *testing.T) {
	e := fixture.New(t)
	good := `apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:v1}]}
  strategy: {canary: {steps: [{setWeight: 25}, {pause: {}}]}}
`
	service := func(port int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: %d}]}\n", port)
	}
	bad := strings.Replace(strings.Replace(good, "name: web}", "name: bad}", 1), "setWeight: 25", "setWeight: 250", 1)
	dir := t.TempDir()
	write := func(name string, docs ...string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	ok := write("ok.yaml", good, service(80))
	if out := must(t, e, "lint", "-f", ok, "--cluster"); !strings.Contains(out, "2 document(s) OK") {
		t.Errorf("lint of good manifests:\n%s", out)
	}

	mixed := write("mixed.yaml", good, bad, service(80))
	out, err := ramp(t, e, "lint", "-f", mixed)
	var exit *cli.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Fatalf("lint of a bad Rollout: %v\n%s", err, out)
	}
	want := mixed + ": document 2 (Rollout bad): spec.strategy.canary.steps[0].setWeight: Invalid value: 250: spec.strategy.canary.steps[0].setWeight in body should be less than or equal to 100"
	if !strings.Contains(out, want) || strings.Contains(out, "document 1") || strings.Contains(out, "document 3") {
		t.Errorf("lint output:\n%s\nwant the line:\n%s", out, want)
	}

	// An int-or-string field given as a number passes, as on the server;
	// a kind Ramp does not have fails.
	surge := write("surge.yaml", strings.Replace(good, "strategy: {canary: {", "strategy: {canary: {maxSurge: 1, ", 1),
		strings.Replace(good, "kind: Rollout", "kind: Rolout", 1))
	out, err = ramp(t, e, "lint", "-f", surge)
	if err == nil || strings.Contains(out, "document 1") || !strings.Contains(out, "document 2 (Rolout web): apiVersion ramp.dev/v1alpha1, kind Rolout: not a kind of Ramp's") {
		t.Errorf("lint of maxSurge: 1 and kind Rolout: %v\n%s", err, out)
	}

	// What the API server admits but a measurement would fail on: a
	// condition that is not CEL, a query naming no value.
	tmpl := write("template.yaml", `apiVersion: ramp.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: errors}
spec:
  metrics:
  - name: error-rate
    successCondition: "result <="
    provider:
      prometheus: {address: "http://p:9090", query: "sum(x{pod=~\"{{.CanaryPod}}\"})"}
`)
	out, err = ramp(t, e, "lint", "-f", tmpl)
	if err == nil || !strings.Contains(out, tmpl+": document 1 (AnalysisTemplate errors): spec.metrics[0].successCondition: Invalid value: \"result <=\"") ||
		!strings.Contains(out, "spec.metrics[0].provider.prometheus.query") || !strings.Contains(out, "no value .CanaryPod;") {
		t.Errorf("lint of a template with bad CEL and a bad query: %v\n%s", err, out)
	}

	// Only the cluster knows a Service's rules.
	svc := write("svc.yaml", service(70000))
	if out, err := ramp(t, e, "lint", "-f", svc); err != nil {
		t.Errorf("offline, a Service is not checked: %v\n%s", err, out)
	}
	out, err = ramp(t, e, "lint", "-f", svc, "--cluster")
	if err == nil || !strings.Contains(out, svc+": document 1 (Service web): the cluster refuses it:") || !strings.Contains(out, "spec.ports[0].port") {
		t.Errorf("lint --cluster of a bad Service: %v\n%s", err, out)
	}
	var list corev1.ServiceList
	if err := e.C.List(context.Background(), &list, client.InNamespace(e.NS)); err != nil || len(list.Items) != 0 {
		t.Errorf("the dry run created something: %v %d", err, len(list.Items))
	}

	if _, err := ramp(t, e, "lint"); err == nil || !strings.Contains(err.Error(), "give the manifests to check with -f FILE") {
		t.Errorf("lint without -f: %v", err)
	}
}

// TestDeploy deploys a deploy file with a Deployment, a Service and an SMI
// canary: the first version straight to Healthy (--watch), the second
// through its canary to the approval pause, with the TrafficSplit at 25%.
func TestDeploy(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	raw, err := clientcmd.LoadFromFile(clustertest.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	deployment := func(image string) {
		doc := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: %s}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
`, image)
		if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deployFile := filepath.Join(dir, "deploy.yml")
	if err := os.WriteFile(deployFile, []byte(fmt.Sprintf(`version: v1
kind: kubernetes
application: web
targets:
  prod: {account: %s, namespace: %s, strategy: canary}
manifests:
- path: web.yaml
strategies:
  canary:
    canary:
      steps:
      - setWeight: {weight: 25}
      - pause: {untilApproved: true}
trafficManagement:
- smi: [{rootServiceName: web, trafficSplitName: web}]
`, raw.CurrentContext, e.NS)), 0o644); err != nil {
		t.Fatal(err)
	}

	deployment("web:v1")
	out := must(t, e, "deploy", "-f", deployFile, "--watch")
	if !strings.Contains(out, "prod: rollout "+e.NS+"/web is Healthy") {
		t.Errorf("deploy --watch:\n%s", out)
	}
	var deployments appsv1.DeploymentList
	if err := e.C.List(context.Background(), &deployments, client.InNamespace(e.NS)); err != nil || len(deployments.Items) != 0 {
		t.Errorf("a Deployment was applied (it should become a Rollout): %v %d", err, len(deployments.Items))
	}

	deployment("web:v2")
	must(t, e, "deploy", "-f", deployFile)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
	split := e.GetObject(schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplit"}, "web")
	backends, _, _ := unstructured.NestedSlice(split.Object, "spec", "backends")
	if b, _ := json.Marshal(backends); !strings.Contains(string(b), `"service":"web-canary","weight":25`) {
		t.Errorf("TrafficSplit backends %s", b)
	}
	must(t, e, "promote", "web", "--full")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)

	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("version: v1\nkind: kubernetes\napplication: web\ntargets: {prod: {account: nope, namespace: x, strategy: s}}\nmanifests: [{path: web.yaml}]\nstrategies: {s: {canary: {steps: [{setWeight: 5}]}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ramp(t, e, "deploy", "-f", bad); err == nil || !strings.Contains(err.Error(), `account "nope" is not a context of your kubeconfig`) {
		t.Errorf("deploy to an unknown account: %v", err)
	}
}

// TestWaitFollowsTheWorkload: after `ramp set image` on a Rollout whose
// template is a Deployment's (the Rollout's generation does not move),
// `status --wait` waits for the new revision instead of exiting on the old
// Healthy status.
func TestWaitFollowsTheWorkload(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	base := e.Rollout("web", "web:v1", fixture.SetWeight(50), fixture.Pause(2*time.Second))
	e.Create(&appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](0), Selector: base.Spec.Selector, Template: *base.Spec.Template},
	})
	base.Spec.Template, base.Spec.WorkloadRef = nil, &rampv1.WorkloadRef{Name: "web"}
	e.Create(base)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	v1 := e.Get("web").Status.StableRevision

	must(t, e, "set", "image", "web", "app=web:v2")
	if out, err := ramp(t, e, "status", "web", "--wait", "--timeout", "60s"); err != nil {
		t.Fatalf("status --wait: %v\n%s", err, out)
	}
	ro := e.Get("web")
	if ro.Status.StableRevision == v1 || ro.Status.Phase != rampv1.PhaseHealthy {
		t.Errorf("status --wait returned with stable %s (v1 was %s), phase %s", ro.Status.StableRevision, v1, ro.Status.Phase)
	}
}

// TestSetImageOnAStatefulSet: `ramp set image` on a Rollout that runs a
// StatefulSet in place changes the StatefulSet's template, where Ramp
// takes it from.
func TestSetImageOnAStatefulSet(t *testing.T) {
	e := fixture.New(t)
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(50))
	e.Create(&appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](0), Selector: ro.Spec.Selector, ServiceName: "web", Template: *ro.Spec.Template},
	})
	ro.Spec.Replicas, ro.Spec.Template = nil, nil
	ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Kind: rampv1.KindStatefulSet, Name: "web", Mode: rampv1.WorkloadInPlace}
	e.Create(ro)

	must(t, e, "set", "image", "web", "app=web:v2")
	sts := &appsv1.StatefulSet{}
	if err := e.C.Get(context.Background(), client.ObjectKey{Namespace: e.NS, Name: "web"}, sts); err != nil {
		t.Fatal(err)
	}
	if img := sts.Spec.Template.Spec.Containers[0].Image; img != "web:v2" {
		t.Errorf("the StatefulSet's image is %s after ramp set image; want web:v2", img)
	}
}
