package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/shard"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
)

// TestShards runs three `ramp controller --shards 3` processes on a
// cluster of its own whose API server records every write with the user
// agent of the replica that sent it. The replicas spread the shards one
// each; six Rollouts, two per shard, run canaries with a webhook step (a
// HookRun, reconciled in its Rollout's shard). Mid-canary one replica is
// killed (SIGKILL: nothing released) and its shard moves to another; then
// another is frozen (SIGSTOP, as a stalled node: its state and connections
// kept) until its shards move too, and thawed, with its reconciles half
// done and its cache stale: it must write nothing for them, and comes back
// for a share. Every canary must end promoted, and the audit log must show
// that no replica wrote for a Rollout while another held its shard.
func TestShards(t *testing.T) {
	t.Parallel()
	const shards, perShard = 3, 2
	cluster, c := fixture.OwnCluster(t, localcluster.Options{Nodes: 1, PodCIDR: "127.8.0.0/16", AuditWrites: true})
	e := &fixture.Env{T: t, NS: "default", C: c, Kubeconfig: cluster.KubeconfigPath}
	args := []string{"--shards", strconv.Itoa(shards), "--leader-election-namespace", e.NS}
	var replicas []*fixture.Controller
	for range shards {
		replicas = append(replicas, e.StartControllerProcess(args...))
	}
	spread := fixture.ShardHolders(e, shards, shards)
	t.Logf("shards spread over the replicas: %v", spread)

	checks := fixture.NewTestSystem(t, nil)
	steps := []rampv1.Step{
		fixture.SetWeight(20),
		{Webhook: &rampv1.WebhookHook{URL: checks.URL + "/check"}},
		fixture.Pause(10 * time.Second),
		fixture.SetWeight(50),
		fixture.Pause(10 * time.Second),
		fixture.SetWeight(80),
		fixture.Pause(10 * time.Second),
	}
	names := namesPerShard(e.NS, shards, perShard)
	for _, name := range names {
		e.Create(e.Rollout(name, "web:v1", steps...))
	}
	for _, name := range names {
		e.WaitFor(name, fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	}
	for _, name := range names {
		e.SetImage(name, "web:v2")
	}
	for _, name := range names {
		stepAtLeast(t, e, name, 2) // past the webhook
	}

	killed := time.Now()
	replicas[0].Kill()
	after := fixture.ShardHolders(e, shards, shards-1)
	t.Logf("one replica killed; its shard moved in %s: %v", time.Since(killed).Round(100*time.Millisecond), after)
	replicas[1].Freeze()
	frozen := time.Now()
	after = fixture.ShardHolders(e, shards, 1)
	t.Logf("another frozen; its shards moved in %s: %v", time.Since(frozen).Round(100*time.Millisecond), after)
	replicas[1].Thaw()
	after = fixture.ShardHolders(e, shards, 2)
	t.Logf("thawed, it holds a share again: %v", after)
	for _, name := range names {
		e.WaitFor(name, fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
	}

	writes, err := cluster.AuditedWrites()
	if err != nil {
		t.Fatal(err)
	}
	checkOneWriterPerShard(t, writes, e.NS, names, shards)
}

// namesPerShard picks Rollout names, perShard in each shard.
func namesPerShard(ns string, shards, perShard int) []string {
	count := make([]int, shards)
	var names []string
	for n := 0; len(names) < shards*perShard; n++ {
		name := fmt.Sprintf("web-%d", n)
		if i := shard.Of(ns+"/"+name, shards); count[i] < perShard {
			count[i]++
			names = append(names, name)
		}
	}
	return names
}

// checkOneWriterPerShard reads from the audit log who held each shard
// when (the holder named by the last successful write of its Lease before
// an instant; none after a release) and checks that every write for a Rollout, or
// for an object named after it, came from its shard's holder at that
// instant. An Event is timed when it was recorded (its name says), not
// when the recorder sent it; only its creation counts (a series' later
// count update is bookkeeping, sent in the background).
func checkOneWriterPerShard(t *testing.T, writes []localcluster.AuditedWrite, ns string, names []string, shards int) {
	t.Helper()
	type tenure struct {
		at     time.Time
		holder string
	}
	leases := make([][]tenure, shards)
	for _, w := range writes {
		id := replicaOf(w.UserAgent)
		if id == "" || w.ObjectRef.Resource != "leases" || w.ResponseStatus.Code >= 300 || (w.Verb != "create" && w.Verb != "update") {
			continue
		}
		var written struct {
			Spec struct {
				HolderIdentity string `json:"holderIdentity"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(w.Response, &written); err != nil {
			t.Fatalf("the audit log holds no Lease in %s: %v", w, err)
		}
		for i := range shards {
			if w.ObjectRef.Name == fixture.ShardLease(i) {
				leases[i] = append(leases[i], tenure{w.Received, written.Spec.HolderIdentity})
			}
		}
	}
	holderAt := func(i int, at time.Time) string {
		holder := ""
		for _, l := range leases[i] {
			if l.at.After(at) {
				break
			}
			holder = l.holder
		}
		return holder
	}
	writers := map[string]map[string]int{} // Rollout → replica → writes
	var wrong []string
	for _, w := range writes {
		id := replicaOf(w.UserAgent)
		if id == "" || w.ObjectRef.Resource == "leases" || w.ResponseStatus.Code >= 300 {
			continue
		}
		at := w.Received
		if w.ObjectRef.Resource == "events" {
			if w.Verb != "create" {
				continue
			}
			at = eventRecorded(w.ObjectRef.Name)
		}
		ro := rolloutOf(w.ObjectRef.Name, names)
		if ro == "" {
			continue
		}
		i := shard.Of(ns+"/"+ro, shards)
		if holder := holderAt(i, at); holder != id {
			wrong = append(wrong, fmt.Sprintf("%s (for %s, shard %d) by %s while %q held the shard", w, ro, i, id, holder))
		}
		if writers[ro] == nil {
			writers[ro] = map[string]int{}
		}
		writers[ro][id]++
	}
	// Without these the log could not have caught a wrong writer: every
	// Rollout written for, by more than one replica in all (the killed
	// one's shard moved, and shards moved as the replicas came up).
	handedOver := 0
	for _, ro := range names {
		if len(writers[ro]) == 0 {
			t.Fatalf("the audit log holds no write for %s: attribution is broken", ro)
		}
		if len(writers[ro]) > 1 {
			handedOver++
		}
	}
	if handedOver == 0 {
		t.Fatalf("no Rollout was written for by two replicas, though a replica was killed: %v", writers)
	}
	if len(wrong) > 0 {
		t.Errorf("%d writes by a replica not holding the shard:\n%s", len(wrong), strings.Join(wrong[:min(len(wrong), 20)], "\n"))
	}
	t.Logf("writers per Rollout: %v (%d Rollouts handed over)", writers, handedOver)
}

// replicaOf reads the replica's identity from its user agent.
func replicaOf(agent string) string {
	_, id, ok := strings.Cut(agent, "replica=")
	if !ok {
		return ""
	}
	id, _, _ = strings.Cut(id, " ")
	return id
}

// rolloutOf returns the Rollout an object is named after: the Rollout
// itself, "<rollout>-..." (ReplicaSets, Services, runs) or
// "<rollout>.<time>" (its Events).
func rolloutOf(object string, names []string) string {
	for _, ro := range names {
		if object == ro || strings.HasPrefix(object, ro+"-") || strings.HasPrefix(object, ro+".") {
			return ro
		}
	}
	return ""
}

// eventRecorded reads the time an Event was recorded from its name
// (client-go names it <object>.<UnixNano in hex>).
func eventRecorded(name string) time.Time {
	i := strings.LastIndexByte(name, '.')
	ns, err := strconv.ParseInt(name[i+1:], 16, 64)
	if i < 0 || err != nil {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
