package rollout_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestCanarySteps takes v1 to v2 through 25%, pause 2s, 50%, pause until
// promoted, and a promotion, checking the replicas of both revisions, the
// phase and the step at each point, the scale-down delay and the pruning.
func TestCanarySteps(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(2*time.Second), fixture.SetWeight(50), fixture.Pause(0))
	ro.Spec.RevisionHistoryLimit = new(int32) // prune old revisions at once
	e.Create(ro)

	got := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	if got.Status.StableRevision == "" || got.Status.Weight.Reached != 0 {
		t.Errorf("first revision: stable %q, weight %v", got.Status.StableRevision, got.Status.Weight)
	}
	v1 := got.Status.StableRevision

	e.SetImage("web", "web:v2")
	// Step 0 (25%): one canary pod, three stable.
	got = e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	if got.Status.Weight.Asked != rampv1.Percent(25) || got.Status.Weight.Reached != rampv1.Percent(25) {
		t.Errorf("at 25%%: weight %+v", got.Status.Weight)
	}
	pausedAt := time.Now()
	// Step 2 (50%) after the 2s pause: two and two.
	got = e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
	if since := time.Since(pausedAt); since < 1500*time.Millisecond {
		t.Errorf("the 2s pause ended after %s", since)
	}
	if got.Status.Weight.Reached != rampv1.Percent(50) || got.Status.StepLabel != "4/4" {
		t.Errorf("at 50%%: weight %+v, step %q", got.Status.Weight, got.Status.StepLabel)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, rampv1.ConditionPaused); c == nil || c.Reason != "PauseStep" {
		t.Errorf("Paused condition: %+v", c)
	}
	// The pause without duration holds until promoted.
	e.Request("web", rampv1.AnnotationPromote)
	promotedAt := time.Now()

	// v2 stable at 4 pods; v1 scaled down after the 2s delay, then pruned.
	got = e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "2:4"}, fixture.Wait)
	if got.Status.StableRevision == v1 || got.Status.CanaryRevision != "" || got.Status.CurrentStepIndex != nil {
		t.Errorf("after promotion: stable %s (v1 %s), canary %q, step %v",
			got.Status.StableRevision, v1, got.Status.CanaryRevision, got.Status.CurrentStepIndex)
	}
	// The timeline of the promoted canary stays: four steps, the pause
	// about 2s long, the last ended by the request.
	if got := history(got.Status.StepHistory); got != "0:Passed 1:Passed 2:Passed 3:Promoted" {
		t.Errorf("step history: %s", got)
	}
	if h := got.Status.StepHistory; len(h) == 4 && h[1].EndedAt.Sub(h[1].StartedAt.Time) < 1500*time.Millisecond {
		t.Errorf("the 2s pause is recorded as %s", h[1].EndedAt.Sub(h[1].StartedAt.Time))
	}
	if since := time.Since(promotedAt); since < 2*time.Second {
		t.Errorf("v1 was gone %s after promotion, before the 2s scale-down delay", since)
	}

	want := []string{"RevisionCreated", "ScalingReplicaSet", "RevisionCreated", "CanaryStarted", "StepCompleted",
		"StepCompleted", "StepCompleted", "StepCompleted", "Promoted", "ScalingReplicaSet", "RevisionPruned"}
	e.WaitForEvents("web", want...)
}

// history shows a step history as "index:outcome ...", a running step
// with the outcome "running".
func history(h []rampv1.StepRecord) string {
	var parts []string
	for _, r := range h {
		outcome := string(r.Outcome)
		if r.EndedAt == nil {
			outcome = "running"
		}
		parts = append(parts, fmt.Sprintf("%d:%s", r.Index, outcome))
	}
	return strings.Join(parts, " ")
}

// TestDeleteCollectsOwnedObjects: deleting a Rollout deletes its
// ReplicaSets (garbage collection through owner references).
func TestDeleteCollectsOwnedObjects(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	e.Create(e.Rollout("gc", "gc:v1", fixture.SetWeight(50)))
	e.WaitFor("gc", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	if err := e.C.Delete(context.Background(), e.Get("gc"), client.PropagationPolicy("Foreground")); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, fixture.Wait, "the Rollout and its ReplicaSets to be gone", func(ctx context.Context) (bool, string) {
		rss, err := e.ReplicaSets(ctx, "gc")
		if err != nil {
			return false, err.Error()
		}
		err = e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "gc"}, &rampv1.Rollout{})
		return len(rss) == 0 && apierrors.IsNotFound(err), fmt.Sprint("ReplicaSets left: ", len(rss))
	})
}
