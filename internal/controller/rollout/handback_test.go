package rollout_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestHandBackMissesItsDeadline: a Deployment that does not become
// available (its pods must be ready for ten minutes first) holds the
// deletion of the Rollout that adopted it for progressDeadlineSeconds, no
// longer; the Rollout's pods are then left running, no longer owned, and
// an event says so. (test/e2e has the hand back under load.)
func TestHandBackMissesItsDeadline(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(50))
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4), Selector: ro.Spec.Selector, Template: *ro.Spec.Template,
			MinReadySeconds: 600, ProgressDeadlineSeconds: ptr.To[int32](900),
			// What it adopts it replaces no faster than its pods serve.
			Strategy: appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(0))}}}}
	e.Create(dep)
	ro.Spec.Template, ro.Spec.WorkloadRef = nil, &rampv1.WorkloadRef{Name: "web"}
	ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](3)
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	clustertest.Eventually(t, fixture.Wait, "the Deployment at zero", func(ctx context.Context) (bool, string) {
		err := e.C.Get(ctx, client.ObjectKeyFromObject(dep), dep)
		return err == nil && ptr.Deref(dep.Spec.Replicas, 1) == 0 && dep.Status.Replicas == 0, fmt.Sprint(err, dep.Status)
	})
	held := readyPods(t, e)

	deleted := time.Now()
	if err := e.C.Delete(context.Background(), e.Get("web")); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, fixture.Wait, "the Rollout to go", func(ctx context.Context) (bool, string) {
		err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, &rampv1.Rollout{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if d := time.Since(deleted); d < 3*time.Second {
		t.Errorf("the Rollout went %s after its deletion, before its 3 s deadline", d)
	}
	var list appsv1.ReplicaSetList
	if err := e.C.List(context.Background(), &list, client.InNamespace(e.NS), client.HasLabels{rampv1.LabelRevision}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("the Rollout's ReplicaSets after the deadline: %d, want one", len(list.Items))
	}
	// Let go of, the ReplicaSet is the Deployment's to adopt (its selector
	// matches) and to replace at its pace.
	if ref := metav1.GetControllerOf(&list.Items[0]); ref != nil && ref.Kind == "Rollout" {
		t.Errorf("ReplicaSet %s still belongs to Rollout %s", list.Items[0].Name, ref.Name)
	}
	e.WaitForEvents("web", "WorkloadNotReady")
	for _, p := range held {
		if !slices.Contains(readyPods(t, e), p) {
			t.Errorf("pod %s of the Rollout's is gone", p)
		}
	}
}
