package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// BenchmarkShards runs 3,000 Rollouts (1 replica each, SMI, one weighted
// step) on three `ramp controller --shards 3` replicas, on a cluster of
// its own. All get a new image (eight at a time); as the first of them are promoted
// (a tenth), one replica is killed (SIGKILL). It measures the wall time, the time
// until the killed replica's shard is held by another, and each replica's
// share of the writes (from the audit log), CPU time and peak memory; every
// Rollout must end promoted.
func BenchmarkShards(b *testing.B) {
	n := count("RAMP_BENCH_SHARDED_ROLLOUTS", 3000)
	const shards, concurrency = 3, 4
	cluster, c := fixture.OwnCluster(b, localcluster.Options{PodCIDR: "127.9.0.0/16", AuditWrites: true})
	e := &fixture.Env{T: b, NS: "default", C: c, Kubeconfig: cluster.KubeconfigPath}
	var replicas []controller
	for range shards {
		replicas = append(replicas, startController(b, e, "--shards", strconv.Itoa(shards),
			"--leader-election-namespace", e.NS, "--concurrency", strconv.Itoa(concurrency)))
	}
	before := fixture.ShardHolders(e, shards, shards)
	var identities []string
	for _, r := range replicas {
		m := r.scrape(b)
		identities = append(identities, m.Label("ramp_shard_replica_info", "identity"))
	}

	stable := createSettled(b, e, n, 1, fixture.SetWeight(50))
	start := time.Now()
	// The new images go out on eight workers while the first canaries
	// run, so that the kill comes mid-run.
	updated := make(chan error, 1)
	go func() {
		updated <- inParallelErr(n, func(ctx context.Context, i int) error {
			return setImage(ctx, e, fmt.Sprintf("app-%04d", i), "app:v2")
		})
	}()
	promoted := func(ro *rampv1.Rollout) bool { return ro.Status.StableRevision != stable[ro.Name] }
	settledAtKill := waitSettled(b, e, max(1, n/10), promoted)
	killedProcess := replicas[0].process(b)
	killed := time.Now()
	replicas[0].Kill()
	after := fixture.ShardHolders(e, shards, shards-1)
	handover := time.Since(killed)
	if slices.Contains(after, identities[0]) {
		b.Fatalf("the killed replica %s still holds a shard: %v", identities[0], after)
	}
	if err := <-updated; err != nil {
		b.Fatal(err)
	}
	allSettled(b, e, n, 30*time.Minute, promoted)
	wall := time.Since(start)

	writes, err := cluster.AuditedWrites()
	if err != nil {
		b.Fatal(err)
	}
	byReplica := map[string]float64{}
	total := 0.0
	for _, w := range writes {
		if _, id, ok := strings.Cut(w.UserAgent, "replica="); ok && w.Received.After(start) && w.ObjectRef.Resource != "leases" {
			id, _, _ = strings.Cut(id, " ")
			byReplica[id]++
			total++
		}
	}
	s := &Sharded{Rollouts: n, Shards: shards, Concurrency: concurrency, WallSeconds: wall.Seconds(),
		HandoverSeconds: handover.Seconds(), SettledAtKill: settledAtKill}
	for i, r := range replicas {
		p := killedProcess
		if i > 0 {
			p = r.process(b)
		}
		id := identities[i]
		s.Replicas = append(s.Replicas, ShardedReplica{Killed: i == 0, CPUSeconds: p.CPUSeconds, PeakRSSMiB: p.PeakRSSMiB,
			WriteShare: byReplica[id] / total, ShardsAtStart: holds(before, id), ShardsAtEnd: holds(after, id)})
	}
	b.ReportMetric(s.WallSeconds, "wall-s")
	b.ReportMetric(s.HandoverSeconds, "handover-s")
	record(b, cluster.Config(), func(r *Report) { r.Sharded = s })
}

// waitSettled waits until at least want Rollouts are settled and done,
// and returns how many are.
func waitSettled(b *testing.B, e *fixture.Env, want int, done func(*rampv1.Rollout) bool) int {
	b.Helper()
	settled := 0
	clustertest.Eventually(b, 30*time.Minute, fmt.Sprintf("%d Rollouts settled", want), func(ctx context.Context) (bool, string) {
		var list rampv1.RolloutList
		if err := e.C.List(ctx, &list, client.InNamespace(e.NS)); err != nil {
			return false, err.Error()
		}
		settled = 0
		for i := range list.Items {
			if ro := &list.Items[i]; ro.Status.Phase == rampv1.PhaseHealthy && ro.Status.CanaryRevision == "" && done(ro) {
				settled++
			}
		}
		return settled >= want, fmt.Sprintf("%d settled", settled)
	})
	return settled
}

// holds counts the shards id holds among holders.
func holds(holders []string, id string) int {
	n := 0
	for _, h := range holders {
		if h == id {
			n++
		}
	}
	return n
}
