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
// read; a conflict is read again and retried. The race must happen (edits
// go on until a few have conflicted), and nothing is lost: every label is
// there, and the last image is the one rolled out and described by the
// status.
func TestUserEditsRaceControllerWrites(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := context.Background()
	e.StartControllerProcess()
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.SetWeight(50), fixture.SetWeight(75)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	edits, conflicts, image := 0, 0, ""
	for ; edits < 200 && (edits < 30 || conflicts < 3); edits++ {
		for {
			ro := e.Get("web")
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
