package e2e

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestUserEditsRaceControllerWrites: while the controller takes canaries
// through their steps, writing the Rollout's status several times a
// second, a user edits the same Rollout back to back: a label each time,
// the image every third time. Each edit carries the resourceVersion it
// read; a conflict is read again and retried. Left to chance, the race
// happens on some machines and not on others, so every ninth edit — the
// one right after a new image, while the controller starts that canary —
// holds its read until the controller has written the Rollout: that write
// must be refused. Nothing is lost: every label is there, and the last
// image is the one rolled out and described by the status.
func TestUserEditsRaceControllerWrites(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := context.Background()
	e.StartControllerProcess()
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.SetWeight(50), fixture.SetWeight(75)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	edits, conflicts, image := 0, 0, ""
	for ; edits < 200 && (edits < 30 || conflicts < 3); edits++ {
		for attempt := 0; ; attempt++ {
			ro := e.Get("web")
			if edits%9 == 1 && attempt == 0 {
				waitForControllerWrite(t, e, ro.ResourceVersion)
			}
			if ro.Labels == nil {
				ro.Labels = map[string]string{}
			}
			ro.Labels[fmt.Sprintf("edit-%03d", edits)] = "kept"
			if edits%3 == 0 {
				image = fmt.Sprintf("web:v%d", edits/3+2)
				ro.Spec.Template.Spec.Containers[0].Image = image
			}
			err := e.C.Update(ctx, ro)
			if apierrors.IsConflict(err) {
				conflicts++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if edits%9 == 1 && attempt == 0 {
				t.Fatalf("edit %d wrote over the controller's newer write: resourceVersion was not checked", edits)
			}
			break
		}
	}
	if conflicts < 3 {
		t.Fatalf("%d edits met %d conflicts: the race this test is about did not happen", edits, conflicts)
	}

	clustertest.Eventually(t, 2*fixture.Wait, "the last image rolled out", func(ctx context.Context) (bool, string) {
		ro := e.Get("web")
		st := ro.Status
		if st.ObservedGeneration != ro.Generation || st.Phase != rampv1.PhaseHealthy || st.CanaryRevision != "" {
			return false, fmt.Sprintf("generation %d observed %d, %s", ro.Generation, st.ObservedGeneration, st.Message)
		}
		var rss appsv1.ReplicaSetList
		if err := e.C.List(ctx, &rss, client.InNamespace(e.NS), client.MatchingLabels{rampv1.LabelRevision: st.StableRevision}); err != nil || len(rss.Items) != 1 {
			return false, fmt.Sprint(err)
		}
		got := rss.Items[0].Spec.Template.Spec.Containers[0].Image
		return got == image, "stable runs " + got
	})
	ro := e.Get("web")
	for i := range edits {
		if ro.Labels[fmt.Sprintf("edit-%03d", i)] != "kept" {
			t.Errorf("edit %d was lost: labels %v", i, ro.Labels)
			break
		}
	}
	if got := ro.Spec.Template.Spec.Containers[0].Image; got != image {
		t.Errorf("the spec holds image %s, want the last edit's %s", got, image)
	}
	t.Logf("%d edits, %d conflicts retried, none lost", edits, conflicts)
}

// waitForControllerWrite waits until the Rollout's resourceVersion moves
// past seen. The test makes its edits one at a time, so only the
// controller can have moved it.
func waitForControllerWrite(t *testing.T, e *fixture.Env, seen string) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, "a controller write after resourceVersion "+seen, func(context.Context) (bool, string) {
		rv := e.Get("web").ResourceVersion
		return rv != seen, "resourceVersion " + rv
	})
}
