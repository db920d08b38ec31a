package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestDeposedLeaderDoesNotWrite: two controller replicas with leader
// election, on a cluster of its own whose API server records every write
// with the user agent of the replica that sent it. The leader is frozen
// (SIGSTOP) while it takes eight canaries through their steps; the other
// replica takes the Lease and carries on; then the old leader is thawed,
// with its reconciles half done and its cache stale. Until its elector
// sees the Lease lost and ends it, it must make no write of its own (only
// the bookkeeping described below may reach the API server), and the
// canaries must all finish under the new leader.
func TestDeposedLeaderDoesNotWrite(t *testing.T) {
	t.Parallel()
	cluster, c := fixture.OwnCluster(t, localcluster.Options{Nodes: 1, PodCIDR: "127.5.0.0/16", AuditWrites: true})
	e := &fixture.Env{T: t, NS: "default", C: c, Kubeconfig: cluster.KubeconfigPath}
	args := []string{"--leader-elect", "--leader-election-namespace", e.NS}
	first := e.StartControllerProcess(args...)
	old := leaseHolder(t, e, "")
	e.StartControllerProcess(args...)

	const n = 8
	var steps []rampv1.Step
	for w := int64(10); w <= 90; w += 20 {
		steps = append(steps, fixture.SetWeight(w), fixture.Pause(2*time.Second))
	}
	for i := range n {
		e.Create(e.Rollout(fmt.Sprintf("web-%d", i), "web:v1", steps...))
	}
	for i := range n {
		e.WaitFor(fmt.Sprintf("web-%d", i), fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	}
	for i := range n {
		e.SetImage(fmt.Sprintf("web-%d", i), "web:v2")
	}
	at := stepAtLeast(t, e, "web-0", 2)

	first.Freeze()
	frozen := time.Now()
	next := leaseHolder(t, e, old)
	t.Logf("leader %s frozen; %s took over in %s", old, next, time.Since(frozen).Round(100*time.Millisecond))
	// Thaw the old leader while the new one is at work.
	stepAtLeast(t, e, "web-0", at+2)
	thawed := time.Now()
	first.Thaw()
	ended := first.Exited(30 * time.Second)
	t.Logf("the deposed leader ended %s after it was thawed: %v", time.Since(thawed).Round(100*time.Millisecond), ended)

	for i := range n {
		e.WaitFor(fmt.Sprintf("web-%d", i), fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
	}

	writes, err := cluster.AuditedWrites()
	if err != nil {
		t.Fatal(err)
	}
	// A stopped process sends nothing, but what it sent just before it
	// stopped may reach the API server a little after: those requests were
	// on the wire, beyond any fence. After that, two kinds of request are
	// no decision of the deposed leader: its elector's bid for the Lease,
	// which the API server refuses, and Events recorded while it led, which
	// the recorder sends in the background (an Event's name ends with the
	// time it was recorded). Anything else is a write it must not make.
	const onTheWire = 2 * time.Second
	before, after, inFlight, excused, late := 0, 0, 0, []string{}, []string{}
	for _, w := range writes {
		mine := strings.Contains(w.UserAgent, "replica="+old)
		switch {
		case mine && w.Received.Before(frozen):
			before++
		case mine && w.Received.Before(thawed) && w.Received.Sub(frozen) < onTheWire:
			inFlight++
		case mine && w.ObjectRef.Resource == "leases" && w.ResponseStatus.Code >= 400,
			mine && w.ObjectRef.Resource == "events" && recordedBefore(w.ObjectRef.Name, frozen):
			excused = append(excused, w.String())
		case mine:
			late = append(late, w.String())
		case strings.Contains(w.UserAgent, "replica="+next) && w.Received.After(frozen):
			after++
		}
	}
	// Without these the log could not have caught a late write.
	if before == 0 || after == 0 {
		t.Fatalf("the audit log holds %d writes by the old leader before it froze and %d by the new one after: attribution is broken", before, after)
	}
	if len(late) > 0 {
		t.Errorf("the deposed leader sent %d writes after it was frozen:\n%s", len(late), strings.Join(late[:min(len(late), 20)], "\n"))
	}
	if len(excused) > 0 {
		t.Logf("after the thaw, refused Lease bids and Events recorded before the freeze:\n%s", strings.Join(excused, "\n"))
	}
	t.Logf("audit log: %d writes by the old leader before it froze (%d of them on the wire as it stopped), %d by the new one after, %d late",
		before+inFlight, inFlight, after, len(late))
}

// recordedBefore says whether an Event was recorded before t.
func recordedBefore(name string, t time.Time) bool {
	at := eventRecorded(name)
	return !at.IsZero() && at.Before(t)
}

// stepAtLeast waits until the Rollout's canary is at step least or later,
// and returns the step.
func stepAtLeast(t *testing.T, e *fixture.Env, name string, least int32) int32 {
	t.Helper()
	var at int32
	clustertest.Eventually(t, fixture.Wait, fmt.Sprintf("%s at step %d or later", name, least), func(ctx context.Context) (bool, string) {
		ro := e.Get(name)
		at = ptr.Deref(ro.Status.CurrentStepIndex, -1)
		return at >= least, fmt.Sprintf("step %d, %s", at, ro.Status.Message)
	})
	return at
}
