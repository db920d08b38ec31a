package rollout_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestTakesOverOrphanedPods: a Rollout whose pods were left running
// (its owner deleted with --cascade=orphan) takes them over instead of
// starting its own, whoever left them: a Rollout of Ramp's deleted to be
// created again, or a Deployment (whose ReplicaSets carry the Deployment
// controller's hash label). The same pods serve, labelled with their
// revision, and a canary runs from there.
func TestTakesOverOrphanedPods(t *testing.T) {
	t.Parallel()
	for _, left := range []string{"Rollout", "Deployment"} {
		t.Run(left, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			ro := e.Rollout("web", "web:v1", fixture.SetWeight(50), fixture.Pause(0))
			switch left {
			case "Rollout":
				e.Create(ro.DeepCopy())
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
				orphan(t, e, e.Get("web"))
			case "Deployment":
				dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
					Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4), Selector: ro.Spec.Selector, Template: *ro.Spec.Template.DeepCopy()}}
				e.Create(dep)
				waitPods(t, e, 4)
				orphan(t, e, dep)
			}
			before := readyPods(t, e)
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
			if after := readyPods(t, e); !slices.Equal(after, before) {
				t.Errorf("pods after the takeover %v, want the %d left running %v", after, len(before), before)
			}
			got := e.Get("web")
			var pods corev1.PodList
			if err := e.C.List(context.Background(), &pods, client.InNamespace(e.NS)); err != nil {
				t.Fatal(err)
			}
			for _, p := range pods.Items {
				if p.Labels[rampv1.LabelRevision] != got.Status.StableRevision {
					t.Errorf("pod %s has revision label %q, want the stable revision %s", p.Name, p.Labels[rampv1.LabelRevision], got.Status.StableRevision)
				}
			}
			e.WaitForEvents("web", "ReplicaSetAdopted")
			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:2 2:2"}, fixture.Wait)
		})
	}
}

// TestOrphansOfAnotherTemplateHoldTheRollout: pods left running from
// another template are not taken over, and the Rollout does not start
// its own beside them: it says what to do, and goes on once they are gone.
func TestOrphansOfAnotherTemplateHoldTheRollout(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	old := e.Rollout("web", "web:v0")
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: e.NS},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: old.Spec.Selector, Template: *old.Spec.Template.DeepCopy()}}
	e.Create(dep)
	waitPods(t, e, 2)
	orphan(t, e, dep)
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(50)))
	clustertest.Eventually(t, fixture.Wait, "the Rollout to say why it waits", func(ctx context.Context) (bool, string) {
		ro := e.Get("web")
		c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionStalled)
		return c != nil && c.Reason == "OrphansNotAdopted", fmt.Sprintf("%+v", c)
	})
	if rss, err := e.ReplicaSets(context.Background(), "web"); err != nil || len(rss) != 0 {
		t.Fatalf("the Rollout made ReplicaSets beside the orphans: %d (%v)", len(rss), err)
	}
	// The user scales the old pods away: the Rollout starts its own.
	var list appsv1.ReplicaSetList
	if err := e.C.List(context.Background(), &list, client.InNamespace(e.NS)); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		rs := &list.Items[i]
		patch := client.MergeFrom(rs.DeepCopy())
		rs.Spec.Replicas = ptr.To[int32](0)
		if err := e.C.Patch(context.Background(), rs, patch); err != nil {
			t.Fatal(err)
		}
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
}

// orphan deletes obj and keeps what it owns, as
// `kubectl delete --cascade=orphan` does, and waits until it is gone.
func orphan(t *testing.T, e *fixture.Env, obj client.Object) {
	t.Helper()
	if err := e.C.Delete(context.Background(), obj, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, fixture.Wait, "the owner to be gone, its ReplicaSets orphaned", func(ctx context.Context) (bool, string) {
		err := e.C.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if !apierrors.IsNotFound(err) {
			return false, fmt.Sprint("owner still there: ", err)
		}
		var list appsv1.ReplicaSetList
		if err := e.C.List(ctx, &list, client.InNamespace(e.NS)); err != nil {
			return false, err.Error()
		}
		for _, rs := range list.Items {
			if len(rs.OwnerReferences) > 0 {
				return false, "ReplicaSet " + rs.Name + " still owned"
			}
		}
		return len(list.Items) > 0, fmt.Sprint(len(list.Items), " ReplicaSets")
	})
}

// readyPods lists the names of the namespace's ready pods, sorted.
func readyPods(t *testing.T, e *fixture.Env) []string {
	t.Helper()
	var pods corev1.PodList
	if err := e.C.List(context.Background(), &pods, client.InNamespace(e.NS)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range pods.Items {
		if fixture.PodReady(&pods.Items[i]) {
			out = append(out, pods.Items[i].Name)
		}
	}
	slices.Sort(out)
	return out
}

func waitPods(t *testing.T, e *fixture.Env, n int) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, fmt.Sprint(n, " ready pods"), func(context.Context) (bool, string) {
		got := len(readyPods(t, e))
		return got == n, fmt.Sprint(got, " ready")
	})
}
