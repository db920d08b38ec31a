package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// leaseName is the controller's leader-election Lease.
const leaseName = "ramp-controller.ramp.dev"

// TestLeaderFailover runs two controller processes with leader election.
// The leader is killed (SIGKILL: no Lease released) with a canary paused;
// the other replica takes the Lease, and a promotion asked after the kill
// is carried out by it. The time from the kill to the new holder is logged:
// the target (20 s) is a benchmark's, not this test's.
func TestLeaderFailover(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	args := []string{"--leader-elect", "--leader-election-namespace", e.NS}
	first := e.StartControllerProcess(args...)
	leader := leaseHolder(t, e, "")
	e.StartControllerProcess(args...)

	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	if got := leaseHolder(t, e, ""); got != leader {
		t.Fatalf("the Lease moved from %s to %s with no failure", leader, got)
	}

	killed := time.Now()
	first.Kill()
	e.Request("web", rampv1.AnnotationPromoteFull)
	next := leaseHolder(t, e, leader)
	took := time.Since(killed)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
	t.Logf("leader %s killed; %s took over in %s", leader, next, took.Round(100*time.Millisecond))
}

// leaseHolder waits until the Lease names a holder other than not, and
// returns it.
func leaseHolder(t *testing.T, e *fixture.Env, not string) string {
	t.Helper()
	var holder string
	clustertest.Eventually(t, fixture.Wait, "a leader other than "+fmt.Sprintf("%q", not), func(ctx context.Context) (bool, string) {
		lease := &coordinationv1.Lease{}
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: leaseName}, lease); err != nil {
			return false, err.Error()
		}
		holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		return holder != "" && holder != not, holder
	})
	return holder
}
