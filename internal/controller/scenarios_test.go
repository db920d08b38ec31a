package controller_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// canaryAt25 creates a Rollout at v1, moves it to v2 and waits for the
// canary to sit in its pause step at 25% (one canary pod, three stable).
func canaryAt25(t *testing.T, e *env, name string, steps ...rampv1.Step) {
	t.Helper()
	if len(steps) == 0 {
		steps = []rampv1.Step{setWeight(25), pause(0), setWeight(50), pause(0)}
	}
	e.create(e.rollout(name, name+":v1", steps...))
	e.waitFor(name, state{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, wait)
	e.setImage(name, name+":v2")
	e.waitFor(name, state{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, wait)
}

func TestAbortThenRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	canaryAt25(t, e, "web")

	e.request("web", rampv1.AnnotationAbort)
	ro := e.waitFor("web", state{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, wait)
	c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionDegraded)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "Aborted" {
		t.Errorf("Degraded condition after abort: %+v", c)
	}
	if ro.Status.Weight != (rampv1.WeightStatus{}) || ro.Status.Abort == nil {
		t.Errorf("after abort: weight %+v, abort %+v", ro.Status.Weight, ro.Status.Abort)
	}
	// A second abort with the same token changes nothing; a retry starts
	// the canary over from its first step.
	e.request("web", rampv1.AnnotationRetry)
	ro = e.waitFor("web", state{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, wait)
	if ro.Status.Abort != nil {
		t.Errorf("abort still recorded after retry: %+v", ro.Status.Abort)
	}
	eventually(t, e, "web", "Aborted", "Retry")
}

func TestTemplateRevertedMidCanary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	canaryAt25(t, e, "web")
	e.setImage("web", "web:v1")
	ro := e.waitFor("web", state{Phase: rampv1.PhaseHealthy, Replicas: "1:4 2:0"}, wait)
	if ro.Status.CanaryRevision != "" || ro.Status.CurrentStepIndex != nil {
		t.Errorf("canary left after revert: %q at %v", ro.Status.CanaryRevision, ro.Status.CurrentStepIndex)
	}
	eventually(t, e, "web", "CanaryStarted", "CanaryReverted")
}

func TestNewTemplateMidCanary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	canaryAt25(t, e, "web")
	e.setImage("web", "web:v3")
	// v2 is dropped at once; v3 starts over from step 0.
	e.waitFor("web", state{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:0 3:1"}, wait)
	e.request("web", rampv1.AnnotationPromoteFull)
	e.waitFor("web", state{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:0 3:4"}, wait)
	eventually(t, e, "web", "CanaryReplaced", "PromotedFull", "Promoted")
}

func TestPauseHoldsEvenAPromotion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	canaryAt25(t, e, "web")
	e.update("web", func(ro *rampv1.Rollout) { ro.Spec.Paused = true })
	e.request("web", rampv1.AnnotationPromote)
	token := e.get("web").Annotations[rampv1.AnnotationPromote]
	// The promotion is recorded and moves the step index, but the weight
	// (and so the pods) stay where they were while paused.
	clustertest.Eventually(t, wait, "the promotion to be handled", func(ctx context.Context) (bool, string) {
		got, ro, err := e.observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		return ro.Status.Handled.Promote == token, got.String()
	})
	got, ro, err := e.observe(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if want := (state{Phase: rampv1.PhasePaused, Step: "2", Replicas: "1:3 2:1"}); got != want {
		t.Errorf("paused after promote: %s, want %s", got, want)
	}
	if c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionPaused); c == nil || c.Reason != "PausedBySpec" {
		t.Errorf("Paused condition: %+v", c)
	}
	e.update("web", func(ro *rampv1.Rollout) { ro.Spec.Paused = false })
	e.waitFor("web", state{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, wait)
}

func TestProgressDeadlineRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ro := e.rollout("web", "web:v1", setWeight(25), pause(0))
	ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](2)
	e.create(ro)
	e.waitFor("web", state{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, wait)
	// v2's pods never become ready (kwok holds them Pending).
	e.update("web", func(ro *rampv1.Rollout) {
		ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
		ro.Spec.Template.Labels[localcluster.HoldNotReadyLabel] = "true"
	})
	ro = e.waitFor("web", state{Phase: rampv1.PhaseDegraded, Step: "0", Replicas: "1:4 2:0"}, wait)
	if ro.Status.Abort == nil || ro.Status.Abort.Reason != "ProgressDeadlineExceeded" {
		t.Fatalf("abort: %+v", ro.Status.Abort)
	}
	if elapsed := ro.Status.Abort.At.Sub(ro.Status.StepStartedAt.Time); elapsed < 2*time.Second {
		t.Errorf("rolled back %s after the step began, before the 2s deadline", elapsed)
	}
	eventually(t, e, "web", "CanaryStarted", "ProgressDeadlineExceeded")
}

func TestAdoptsDeployment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "web:v1"}}},
			},
		},
	}
	e.create(dep)
	ro := e.rollout("web", "", setWeight(50), pause(0))
	ro.Spec.Template = nil
	ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: "web"}
	e.create(ro)
	e.waitFor("web", state{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, wait)
	clustertest.Eventually(t, wait, "the Deployment to be scaled to zero", func(ctx context.Context) (bool, string) {
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err.Error()
		}
		return ptr.Deref(dep.Spec.Replicas, 1) == 0, "replicas " + itoa(int(ptr.Deref(dep.Spec.Replicas, 1)))
	})
	// A new template in the Deployment starts a canary.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		dep.Spec.Template.Spec.Containers[0].Image = "web:v2"
		return e.c.Update(context.Background(), dep)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("web", state{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:2 2:2"}, wait)
	eventually(t, e, "web", "WorkloadScaledDown", "CanaryStarted")
}

func TestWorkloadNotFoundIsReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ro := e.rollout("web", "", setWeight(50))
	ro.Spec.Template = nil
	ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: "missing"}
	e.create(ro)
	clustertest.Eventually(t, wait, "the missing Deployment to be reported", func(ctx context.Context) (bool, string) {
		_, ro, err := e.observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionDegraded)
		return ro.Status.Phase == rampv1.PhaseDegraded && c != nil && c.Reason == "WorkloadNotFound", ro.Status.Message
	})
	eventually(t, e, "web", "WorkloadNotFound")
}

func TestScaleSubresource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(e.rollout("web", "web:v1", setWeight(50)))
	ro := e.waitFor("web", state{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, wait)
	if ro.Status.Selector != "app=web" {
		t.Errorf("status.selector = %q, want app=web", ro.Status.Selector)
	}
	scale := &autoscalingv1.Scale{}
	if err := e.c.SubResource("scale").Get(context.Background(), ro, scale); err != nil {
		t.Fatal(err)
	}
	if scale.Spec.Replicas != 4 || scale.Status.Replicas != 4 || scale.Status.Selector != "app=web" {
		t.Errorf("scale: %+v", scale)
	}
	scale.Spec.Replicas = 6
	if err := e.c.SubResource("scale").Update(context.Background(), ro, client.WithSubResourceBody(scale)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("web", state{Phase: rampv1.PhaseHealthy, Replicas: "1:6"}, wait)
}

// TestAtRestNothingChurns: once Healthy, neither the Rollout nor anything
// it owns is written again for 30 seconds: watches opened at that moment
// see no event at all.
func TestAtRestNothingChurns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	canaryAt25(t, e, "web", setWeight(25), pause(0))
	e.request("web", rampv1.AnnotationPromote)
	e.waitFor("web", state{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, wait)

	wc, err := client.NewWithWatch(clustertest.Config(t), client.Options{Scheme: e.c.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, list := range []client.ObjectList{&rampv1.RolloutList{}, &appsv1.ReplicaSetList{}} {
		if err := wc.List(ctx, list, client.InNamespace(e.ns)); err != nil {
			t.Fatal(err)
		}
		w, err := wc.Watch(ctx, list, client.InNamespace(e.ns),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.GetResourceVersion()}})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		go func() {
			for ev := range w.ResultChan() {
				if obj, ok := ev.Object.(client.Object); ok {
					t.Errorf("at rest, %s %T %s (resourceVersion %s)", ev.Type, obj, obj.GetName(), obj.GetResourceVersion())
				}
			}
		}()
	}
	<-ctx.Done() // the observation window is the assertion
}

// eventually waits for the Rollout's events to include reasons, in order.
func eventually(t *testing.T, e *env, name string, reasons ...string) {
	t.Helper()
	clustertest.Eventually(t, 10*time.Second, "events "+join(reasons), func(context.Context) (bool, string) {
		got := e.eventReasons(name)
		return containsInOrder(got, reasons), "got " + join(got)
	})
}
