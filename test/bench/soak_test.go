package bench

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
)

// BenchmarkSoak keeps a few hundred canaries cycling for 30 minutes with
// one controller, on a cluster of its own: each Rollout, as soon as its
// last canary is promoted, gets a new image. Every 10 s it samples the
// controller's resident memory and goroutines, and the ReplicaSets held;
// after a warm-up both must stay flat: the mean of the last five minutes
// within 5% of the first five. The warm-up lasts until every Rollout has
// run historyCanaries canaries (each then keeps its full revision
// history, and its caches hold all they ever will), or the first sixth of
// the run if that is longer.
func BenchmarkSoak(b *testing.B) {
	n := count("RAMP_BENCH_SOAK_ROLLOUTS", 200)
	length := time.Duration(count("RAMP_BENCH_SOAK_MINUTES", 30)) * time.Minute
	cluster, c := fixture.OwnCluster(b, localcluster.Options{PodCIDR: "127.11.0.0/16"})
	e := &fixture.Env{T: b, NS: "default", C: c, Kubeconfig: cluster.KubeconfigPath}
	ctrl := startController(b, e)
	createSettled(b, e, n, 1, fixture.SetWeight(50), fixture.Pause(5*time.Second))

	soak := &Soak{Rollouts: n, Seconds: length.Seconds()}
	version := map[string]int{}
	start := time.Now()
	sample := time.NewTicker(10 * time.Second)
	defer sample.Stop()
	cycle := time.NewTicker(2 * time.Second)
	defer cycle.Stop()
	for time.Since(start) < length {
		select {
		case <-sample.C:
			p := ctrl.process(b)
			m := ctrl.scrape(b)
			soak.Samples = append(soak.Samples, SoakSample{Seconds: time.Since(start).Seconds(), RSSMiB: p.RSSMiB,
				HeapMiB: m.Sum("go_memstats_heap_inuse_bytes") / (1 << 20),
				// What the runtime holds and has not given back.
				RetainedMiB: (m.Sum("go_memstats_heap_idle_bytes") - m.Sum("go_memstats_heap_released_bytes")) / (1 << 20),
				Goroutines:  m.Sum("go_goroutines"), ReplicaSets: replicaSets(b, e)})
		case <-cycle.C:
			soak.Canaries += nextCanaries(b, e, version)
			if soak.WarmSeconds == 0 && len(version) == n && slices.Min(slices.Collect(maps.Values(version))) >= historyCanaries {
				soak.WarmSeconds = time.Since(start).Seconds()
				// What the heap holds then and at the end tells growth
				// from the working set (go tool pprof -diff_base).
				if err := saveProfile(ctrl, "heap?gc=1", "soak-heap-warm.pprof"); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := saveProfile(ctrl, "heap?gc=1", "soak-heap-end.pprof"); err != nil {
		b.Fatal(err)
	}
	soak.RSSGrowth = soak.growth(func(x SoakSample) float64 { return x.RSSMiB })
	soak.HeapGrowth = soak.growth(func(x SoakSample) float64 { return x.HeapMiB })
	if math.IsNaN(soak.HeapGrowth) {
		soak.HeapGrowth = 0 // not sampled (a controller without the Go collector): not reported
	}
	soak.GoroutineGrowth = soak.growth(func(x SoakSample) float64 { return x.Goroutines })
	if soak.WarmSeconds == 0 {
		b.Fatalf("the warm-up never ended: not every Rollout ran %d canaries in %s; run longer (RAMP_BENCH_SOAK_MINUTES)", historyCanaries, length)
	}
	if math.IsNaN(soak.RSSGrowth) || math.IsNaN(soak.GoroutineGrowth) {
		b.Fatalf("no sample after the warm-up (%.0f s of %s): run longer (RAMP_BENCH_SOAK_MINUTES)", soak.warm(), length)
	}
	b.ReportMetric(100*soak.RSSGrowth, "rss-growth-%")
	b.ReportMetric(100*soak.HeapGrowth, "heap-growth-%")
	b.ReportMetric(100*soak.GoroutineGrowth, "goroutine-growth-%")
	record(b, cluster.Config(), func(r *Report) { r.Soak = soak })
}

// replicaSets counts the ReplicaSets of the soak's namespace.
func replicaSets(b *testing.B, e *fixture.Env) int {
	b.Helper()
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("ReplicaSetList"))
	if err := e.C.List(context.Background(), list, client.InNamespace(e.NS)); err != nil {
		b.Fatal(err)
	}
	return len(list.Items)
}

// nextCanaries gives every settled Rollout its next image and returns how
// many it started.
func nextCanaries(b *testing.B, e *fixture.Env, version map[string]int) int {
	b.Helper()
	ctx := context.Background()
	var list rampv1.RolloutList
	if err := e.C.List(ctx, &list, client.InNamespace(e.NS)); err != nil {
		b.Fatal(err)
	}
	started := 0
	for i := range list.Items {
		ro := &list.Items[i]
		if ro.Status.Phase != rampv1.PhaseHealthy || ro.Status.CanaryRevision != "" || ro.Status.ObservedGeneration != ro.Generation {
			continue
		}
		version[ro.Name]++
		image := fmt.Sprintf("app:v%d", version[ro.Name]+1)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := e.C.Get(ctx, client.ObjectKeyFromObject(ro), ro); err != nil {
				return err
			}
			ro.Spec.Template.Spec.Containers[0].Image = image
			return e.C.Update(ctx, ro)
		})
		if err != nil {
			b.Fatal(err)
		}
		started++
	}
	return started
}

// growth compares the mean of the last five minutes' samples of v with
// that of the first five after the warm-up.
func (s *Soak) growth(v func(SoakSample) float64) float64 {
	warm := s.warm()
	window := min(300, (s.Seconds-warm)/2)
	mean := func(from, to float64) float64 {
		sum, k := 0.0, 0
		for _, x := range s.Samples {
			if x.Seconds >= from && x.Seconds < to {
				sum += v(x)
				k++
			}
		}
		return sum / float64(max(k, 1))
	}
	first, last := mean(warm, warm+window), mean(s.Seconds-window, s.Seconds+1)
	if first == 0 || window <= 0 {
		return math.NaN() // no sample after the warm-up: nothing is shown
	}
	return (last - first) / first
}
