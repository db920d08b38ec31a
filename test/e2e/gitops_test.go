package e2e

import (
	"context"
	"os/exec"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/argocd"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// health is how kstatus (and so Flux) and Argo CD, with Ramp's health
// check, see a Rollout.
type health struct {
	kstatus status.Status
	argocd  string
}

// healthOf reads the Rollout as the tools do, unstructured, and computes
// both.
func healthOf(ctx context.Context, e *fixture.Env, script, name string) (health, string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(rampv1.GroupVersion.WithKind("Rollout"))
	if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: name}, u); err != nil {
		return health{}, "", err
	}
	res, err := status.Compute(u)
	if err != nil {
		return health{}, "", err
	}
	argo, msg, err := argocd.Health(script, u.Object)
	if err != nil {
		return health{}, "", err
	}
	return health{res.Status, argo}, res.Message + " | " + msg, nil
}

// TestHealthAtEveryPhase walks a Rollout through every phase and checks,
// at each, what kstatus (Flux's health checks), Argo CD's health with
// config/argocd/health.lua, and `kubectl wait` make of it: a Rollout
// nobody has observed and a canary in flight are in progress, a paused
// canary too (Suspended for Argo CD), never Failed; a rolled-back canary
// and a spec at fault are Failed (Degraded); a promoted one is Current.
func TestHealthAtEveryPhase(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	script, err := argocd.Script()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := clustertest.Kubectl(t)
	want := func(name string, h health) {
		t.Helper()
		clustertest.Eventually(t, fixture.Wait, name+" to be "+string(h.kstatus)+"/"+h.argocd, func(ctx context.Context) (bool, string) {
			got, msg, err := healthOf(ctx, e, script, name)
			if err != nil {
				return false, err.Error()
			}
			return got == h, string(got.kstatus) + "/" + got.argocd + ": " + msg
		})
	}
	// now checks h at once: the Rollout is where the test waited for it.
	now := func(name string, h health) {
		t.Helper()
		got, msg, err := healthOf(context.Background(), e, script, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != h {
			t.Errorf("%s: got %s/%s (%s), want %s/%s", name, got.kstatus, got.argocd, msg, h.kstatus, h.argocd)
		}
	}
	wait := func(condition string, timeout time.Duration) *exec.Cmd {
		return exec.Command(kubectl, "--kubeconfig", clustertest.Kubeconfig(t), "-n", e.NS, "wait", "rollouts.ramp.dev/web",
			"--for=condition="+condition, "--timeout="+timeout.String())
	}

	// Created before any controller runs: status.observedGeneration
	// defaults to 0, so nobody takes it for settled.
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0)))
	now("web", health{status.InProgressStatus, "Progressing"})
	e.StartController()
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	now("web", health{status.CurrentStatus, "Healthy"})
	if out, err := wait("Ready", 10*time.Second).CombinedOutput(); err != nil {
		t.Fatalf("kubectl wait on a healthy Rollout: %v\n%s", err, out)
	}

	// A new version: kubectl wait --for=condition=Ready, started at once,
	// waits through the canary (the Ready condition's observedGeneration
	// says it describes the old spec) and returns on the promotion.
	v1 := e.Get("web").Status.StableRevision
	e.SetImage("web", "web:v2")
	ready := wait("Ready", 2*time.Minute)
	if err := ready.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- ready.Wait() }()
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	now("web", health{status.InProgressStatus, "Suspended"})
	select {
	case err := <-waited:
		t.Fatalf("kubectl wait --for=condition=Ready returned mid-canary: %v", err)
	default:
	}
	e.Request("web", rampv1.AnnotationPromote)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("kubectl wait --for=condition=Ready after the promotion: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("kubectl wait did not return")
	}
	if ro := e.Get("web"); ro.Status.StableRevision == v1 || ro.Status.CanaryRevision != "" {
		t.Errorf("kubectl wait returned before the promotion: stable %s, canary %s: %q", ro.Status.StableRevision, ro.Status.CanaryRevision, ro.Status.Message)
	}
	want("web", health{status.CurrentStatus, "Healthy"})

	// Rolled back: Failed at once, and kubectl wait --for=condition=Stalled
	// sees it.
	e.SetImage("web", "web:v3")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:0 2:3 3:1"}, fixture.Wait)
	e.Request("web", rampv1.AnnotationAbort)
	want("web", health{status.FailedStatus, "Degraded"})
	if out, err := wait("Stalled", 30*time.Second).CombinedOutput(); err != nil {
		t.Fatalf("kubectl wait --for=condition=Stalled after an abort: %v\n%s", err, out)
	}
	// A retry takes it back to work.
	e.Request("web", rampv1.AnnotationRetry)
	want("web", health{status.InProgressStatus, "Suspended"})

	// A spec at fault: what it names is missing. Once it is there, the
	// Rollout is no longer Stalled.
	orphan := e.Rollout("orphan", "orphan:v1", fixture.SetWeight(50))
	tmpl := *orphan.Spec.Template
	orphan.Spec.Template = nil
	orphan.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: "missing"}
	e.Create(orphan)
	want("orphan", health{status.FailedStatus, "Degraded"})
	e.Create(&appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "missing", Namespace: e.NS},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: orphan.Spec.Selector, Template: tmpl},
	})
	want("orphan", health{status.CurrentStatus, "Healthy"})
}

// TestCreatedObjectsAreMarked: everything Ramp creates for a Rollout (its
// ReplicaSets, Services, TrafficSplit) carries an owner
// reference to the Rollout and app.kubernetes.io/managed-by: ramp, and
// none of the labels or annotations by which Argo CD and Flux track what
// they applied, even when the Rollout has them: a GitOps tool must never
// take Ramp's objects for its own, to prune or to diff.
func TestCreatedObjectsAreMarked(t *testing.T) {
	t.Parallel()
	e, _ := meshed(t)
	tracking := map[string]string{
		"app.kubernetes.io/instance":            "web",  // Argo CD's label tracking
		"kustomize.toolkit.fluxcd.io/name":      "apps", // Flux's inventory labels
		"kustomize.toolkit.fluxcd.io/namespace": "flux-system",
	}
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(20), fixture.Pause(0))
	ro.Labels = tracking
	ro.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "apps:ramp.dev/Rollout:" + e.NS + "/web"}
	e.Route(ro, fixture.SMI)
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: fixture.AnyReplicas}, fixture.Wait)

	var created []client.Object
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "ReplicaSetList"}, {Version: "v1", Kind: "ServiceList"},
		{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplitList"},
	} {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk)
		if err := e.C.List(context.Background(), list, client.InNamespace(e.NS)); err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			if list.Items[i].GetName() != "web" || gvk.Kind != "ServiceList" { // the root Service is the user's
				created = append(created, &list.Items[i])
			}
		}
	}
	if len(created) < 5 { // two ReplicaSets, stable and canary Services, the TrafficSplit
		t.Fatalf("found %d objects Ramp created, want at least 5", len(created))
	}
	for _, o := range created {
		what := o.GetObjectKind().GroupVersionKind().Kind + " " + o.GetName()
		owner := metav1.GetControllerOf(o)
		if owner == nil || owner.Kind != "Rollout" || owner.Name != "web" {
			t.Errorf("%s: controller %v, want the Rollout", what, owner)
		}
		if o.GetLabels()[rampv1.LabelManagedBy] != rampv1.ManagedBy || o.GetLabels()[rampv1.LabelRollout] != "web" {
			t.Errorf("%s: labels %v, want %s=%s and %s=web", what, o.GetLabels(), rampv1.LabelManagedBy, rampv1.ManagedBy, rampv1.LabelRollout)
		}
		for k := range tracking {
			if _, ok := o.GetLabels()[k]; ok {
				t.Errorf("%s carries the tracking label %s", what, k)
			}
		}
		if _, ok := o.GetAnnotations()["argocd.argoproj.io/tracking-id"]; ok {
			t.Errorf("%s carries Argo CD's tracking annotation", what)
		}
	}
}
