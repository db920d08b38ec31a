package rollout_test

import (
	"context"
	"fmt"
	"strings"
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
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// canaryAt25 creates a Rollout at v1, moves it to v2 and waits for the
// canary to sit in its pause step at 25% (one canary pod, three stable).
func canaryAt25(t *testing.T, e *fixture.Env, name string, steps ...rampv1.Step) {
	t.Helper()
	if len(steps) == 0 {
		steps = []rampv1.Step{fixture.SetWeight(25), fixture.Pause(0), fixture.SetWeight(50), fixture.Pause(0)}
	}
	e.Create(e.Rollout(name, name+":v1", steps...))
	e.WaitFor(name, fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage(name, name+":v2")
	e.WaitFor(name, fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
}

func TestAbortThenRetry(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	canaryAt25(t, e, "web")

	e.Request("web", rampv1.AnnotationAbort)
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
	c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionDegraded)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "Aborted" {
		t.Errorf("Degraded condition after abort: %+v", c)
	}
	if ro.Status.Weight != (rampv1.WeightStatus{}) || ro.Status.Abort == nil {
		t.Errorf("after abort: weight %+v, abort %+v", ro.Status.Weight, ro.Status.Abort)
	}
	if got := history(ro.Status.StepHistory); got != "0:Passed 1:RolledBack" {
		t.Errorf("step history after abort: %s", got)
	}
	// A retry starts the canary over from its first step; the abort
	// annotation, still there with its old token, does not abort it again.
	e.Request("web", rampv1.AnnotationRetry)
	ro = e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	if ro.Status.Abort != nil {
		t.Errorf("abort still recorded after retry: %+v", ro.Status.Abort)
	}
	if got := history(ro.Status.StepHistory); got != "0:Passed 1:running" {
		t.Errorf("step history after retry: %s", got)
	}
	e.WaitForEvents("web", "Aborted", "Retry")
}

func TestTemplateRevertedMidCanary(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	canaryAt25(t, e, "web")
	e.SetImage("web", "web:v1")
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4 2:0"}, fixture.Wait)
	if ro.Status.CanaryRevision != "" || ro.Status.CurrentStepIndex != nil {
		t.Errorf("canary left after revert: %q at %v", ro.Status.CanaryRevision, ro.Status.CurrentStepIndex)
	}
	if got := history(ro.Status.StepHistory); got != "0:Passed 1:RolledBack" {
		t.Errorf("step history after the revert: %s (no step may be left running)", got)
	}
	e.WaitForEvents("web", "CanaryStarted", "CanaryReverted")
}

func TestNewTemplateMidCanary(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	canaryAt25(t, e, "web")
	e.SetImage("web", "web:v3")
	// v2 is dropped at once; v3 starts over from step 0.
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:0 3:1"}, fixture.Wait)
	e.Request("web", rampv1.AnnotationPromoteFull)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:0 3:4"}, fixture.Wait)
	e.WaitForEvents("web", "CanaryReplaced", "PromotedFull", "Promoted")
}

func TestPauseHoldsEvenAPromotion(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	canaryAt25(t, e, "web")
	e.Update("web", func(ro *rampv1.Rollout) { ro.Spec.Paused = true })
	e.Request("web", rampv1.AnnotationPromote)
	token := e.Get("web").Annotations[rampv1.AnnotationPromote]
	// The promotion is recorded and moves the step index, but the weight
	// (and so the pods) stay where they were while paused.
	clustertest.Eventually(t, fixture.Wait, "the promotion to be handled", func(ctx context.Context) (bool, string) {
		got, ro, err := e.Observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		return ro.Status.Handled.Promote == token, got.String()
	})
	got, ro, err := e.Observe(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if want := (fixture.State{Phase: rampv1.PhasePaused, Step: "2", Replicas: "1:3 2:1"}); got != want {
		t.Errorf("paused after promote: %s, want %s", got, want)
	}
	if c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionPaused); c == nil || c.Reason != "PausedBySpec" {
		t.Errorf("Paused condition: %+v", c)
	}
	e.Update("web", func(ro *rampv1.Rollout) { ro.Spec.Paused = false })
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
}

func TestProgressDeadlineRollsBack(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0))
	ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](2)
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	// v2's pods never become ready (kwok holds them Pending).
	e.Update("web", func(ro *rampv1.Rollout) {
		ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
		ro.Spec.Template.Labels[localcluster.HoldNotReadyLabel] = "true"
	})
	ro = e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "0", Replicas: "1:4 2:0"}, fixture.Wait)
	if ro.Status.Abort == nil || ro.Status.Abort.Reason != "ProgressDeadlineExceeded" {
		t.Fatalf("abort: %+v", ro.Status.Abort)
	}
	if elapsed := ro.Status.Abort.At.Sub(ro.Status.StepStartedAt.Time); elapsed < 2*time.Second {
		t.Errorf("rolled back %s after the step began, before the 2s deadline", elapsed)
	}
	e.WaitForEvents("web", "CanaryStarted", "ProgressDeadlineExceeded")
}

func TestAdoptsDeployment(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "web:v1"}}},
			},
		},
	}
	e.Create(dep)
	ro := e.Rollout("web", "", fixture.SetWeight(50), fixture.Pause(0))
	ro.Spec.Template = nil
	ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: "web"}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	clustertest.Eventually(t, fixture.Wait, "the Deployment to be scaled to zero", func(ctx context.Context) (bool, string) {
		if err := e.C.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err.Error()
		}
		return ptr.Deref(dep.Spec.Replicas, 1) == 0, fmt.Sprint("replicas ", ptr.Deref(dep.Spec.Replicas, 1))
	})
	// A new template in the Deployment starts a canary.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.C.Get(context.Background(), client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		dep.Spec.Template.Spec.Containers[0].Image = "web:v2"
		return e.C.Update(context.Background(), dep)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:2 2:2"}, fixture.Wait)
	e.WaitForEvents("web", "WorkloadScaledDown", "CanaryStarted")
}

func TestWorkloadNotFoundIsReported(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	ro := e.Rollout("web", "", fixture.SetWeight(50))
	ro.Spec.Template = nil
	ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: "missing"}
	e.Create(ro)
	clustertest.Eventually(t, fixture.Wait, "the missing Deployment to be reported", func(ctx context.Context) (bool, string) {
		_, ro, err := e.Observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionDegraded)
		return ro.Status.Phase == rampv1.PhaseDegraded && c != nil && c.Reason == "WorkloadNotFound", ro.Status.Message
	})
	e.WaitForEvents("web", "WorkloadNotFound")
}

func TestScaleSubresource(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(50)))
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	if ro.Status.Selector != "app=web" {
		t.Errorf("status.selector = %q, want app=web", ro.Status.Selector)
	}
	scale := &autoscalingv1.Scale{}
	if err := e.C.SubResource("scale").Get(context.Background(), ro, scale); err != nil {
		t.Fatal(err)
	}
	if scale.Spec.Replicas != 4 || scale.Status.Replicas != 4 || scale.Status.Selector != "app=web" {
		t.Errorf("scale: %+v", scale)
	}
	scale.Spec.Replicas = 6
	if err := e.C.SubResource("scale").Update(context.Background(), ro, client.WithSubResourceBody(scale)); err != nil {
		t.Fatal(err)
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:6"}, fixture.Wait)
}

func TestWeightApproximatedIsReported(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	canaryAt25(t, e, "web", fixture.SetWeight(1), fixture.Pause(0))
	ro := e.Get("web")
	if ro.Status.Weight.Asked != rampv1.Percent(1) || ro.Status.Weight.Reached != rampv1.Percent(25) {
		t.Errorf("weight %+v, want asked 1 and reached 25 (one pod of four)", ro.Status.Weight)
	}
	e.WaitForEvents("web", "CanaryStarted", "WeightApproximated", "StepCompleted")
}

func TestSelectorMismatchIsReported(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(50))
	ro.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
	e.Create(ro)
	clustertest.Eventually(t, fixture.Wait, "the selector mismatch to be reported", func(ctx context.Context) (bool, string) {
		_, ro, err := e.Observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionDegraded)
		return c != nil && c.Reason == "SelectorMismatch" && strings.Contains(c.Message, "spec.selector"), ro.Status.Message
	})
	if rss, err := e.ReplicaSets(context.Background(), "web"); err != nil || len(rss) != 0 {
		t.Errorf("ReplicaSets created for a Rollout whose selector misses its pods: %d (%v)", len(rss), err)
	}
}

// TestHashCollisionIsEscaped: a ReplicaSet Ramp does not own already has
// the name of the Rollout's first revision. Ramp bumps the collision count,
// takes the next name, and leaves the other ReplicaSet alone.
func TestHashCollisionIsEscaped(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(50)))
	ro := e.Get("web") // as stored, with the API server's defaults
	taken := "web-" + rampv1.TemplateHash(ro.Spec.Template, nil)
	other := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: taken, Namespace: e.NS},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "other"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "other", Image: "other:v1"}}},
			},
		},
	}
	e.Create(other)
	e.StartController()

	ro = e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	if ptr.Deref(ro.Status.CollisionCount, 0) != 1 {
		t.Errorf("collisionCount = %v, want 1", ro.Status.CollisionCount)
	}
	rss, err := e.ReplicaSets(context.Background(), "web")
	if err != nil || len(rss) != 1 || rss[0].Name == taken {
		t.Fatalf("the Rollout's ReplicaSets: %v (%v)", rss, err)
	}
	if err := e.C.Get(context.Background(), client.ObjectKeyFromObject(other), other); err != nil {
		t.Fatal(err)
	}
	if metav1.GetControllerOf(other) != nil || *other.Spec.Replicas != 1 {
		t.Errorf("the other ReplicaSet was touched: owner %v, replicas %d", metav1.GetControllerOf(other), *other.Spec.Replicas)
	}
	e.WaitForEvents("web", "HashCollision", "RevisionCreated")
}

// TestPauseStopsTheClocks: time spent in spec.paused counts neither toward
// a timed pause step nor toward the progress deadline.
func TestPauseStopsTheClocks(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(3*time.Second), fixture.SetWeight(50), fixture.Pause(0))
	ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](2)
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	// Paused before the canary starts: the deadline must not run.
	e.Update("web", func(ro *rampv1.Rollout) {
		ro.Spec.Paused = true
		ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
	})
	var pausedAt time.Time
	clustertest.Eventually(t, fixture.Wait, "the clocks to stop", func(ctx context.Context) (bool, string) {
		_, ro, err := e.Observe(ctx, "web")
		if err != nil || ro.Status.PausedAt == nil {
			return false, fmt.Sprint(err)
		}
		pausedAt = ro.Status.PausedAt.Time
		return true, ""
	})
	// Let more than the 2s progress deadline pass while paused.
	clustertest.Eventually(t, fixture.Wait, "3s of pause", func(context.Context) (bool, string) {
		return time.Since(pausedAt) > 3*time.Second, ""
	})
	if ro := e.Get("web"); ro.Status.Phase != rampv1.PhasePaused || ro.Status.Abort != nil {
		t.Fatalf("while paused: phase %s, abort %+v", ro.Status.Phase, ro.Status.Abort)
	}
	e.Update("web", func(ro *rampv1.Rollout) { ro.Spec.Paused = false })
	// Resumed: step 0 runs (no rollback) and the timed pause starts.
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)

	// Paused inside the 3s pause step for 4s: the step is not over on
	// resume, and its start moved on by the time paused.
	before := e.Get("web").Status.StepStartedAt.Time
	e.Update("web", func(ro *rampv1.Rollout) { ro.Spec.Paused = true })
	clustertest.Eventually(t, fixture.Wait, "4s of pause", func(ctx context.Context) (bool, string) {
		_, ro, err := e.Observe(ctx, "web")
		return err == nil && ro.Status.PausedAt != nil && time.Since(ro.Status.PausedAt.Time) > 4*time.Second, ""
	})
	e.Update("web", func(ro *rampv1.Rollout) { ro.Spec.Paused = false })
	clustertest.Eventually(t, fixture.Wait, "the clocks to resume", func(ctx context.Context) (bool, string) {
		_, ro, err := e.Observe(ctx, "web")
		return err == nil && ro.Status.PausedAt == nil, ""
	})
	ro = e.Get("web")
	if moved := ro.Status.StepStartedAt.Sub(before); *ro.Status.CurrentStepIndex == 1 && moved < 4*time.Second {
		t.Errorf("the pause step's start moved %s, want at least the 4s paused", moved)
	} else if *ro.Status.CurrentStepIndex != 1 {
		t.Errorf("step %d right after resume, want still 1: the paused time counted toward the 3s pause", *ro.Status.CurrentStepIndex)
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
}
