package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// idleWindow is how long the controller's CPU time is watched at rest.
const idleWindow = time.Minute

// BenchmarkHold holds 10,000 Rollouts at rest with one controller at its
// shipped settings, on a cluster of its own, and measures its peak memory
// and its CPU at rest; then adds 5,000 finished AnalysisRuns (of those
// Rollouts) and measures its CPU at rest again. The Rollouts run pod ratio
// with no replicas: the controller caches a Rollout and its ReplicaSet
// either way (never pods), and the API server is spared 10,000 pods.
func BenchmarkHold(b *testing.B) {
	n := count("RAMP_BENCH_HELD_ROLLOUTS", 10000)
	runs := min(n, count("RAMP_BENCH_FINISHED_RUNS", 5000))
	cluster, c := fixture.OwnCluster(b, localcluster.Options{PodCIDR: "127.10.0.0/16"})
	e := &fixture.Env{T: b, NS: "default", C: c, Kubeconfig: cluster.KubeconfigPath}
	ctrl := startController(b, e)

	created := time.Now()
	inParallel(b, n, func(ctx context.Context, i int) error {
		ro := e.Rollout(fmt.Sprintf("app-%05d", i), "app:v1", fixture.SetWeight(25), fixture.SetWeight(50))
		ro.Spec.Replicas = ptr.To[int32](0)
		return c.Create(ctx, ro)
	})
	allSettled(b, e, n, 30*time.Minute, func(ro *rampv1.Rollout) bool { return ro.Status.StableRevision != "" })
	h := &Hold{Rollouts: n, CreateWallSeconds: time.Since(created).Seconds(), IdleWindowSeconds: idleWindow.Seconds()}
	h.IdleCores, h.RSSMiB = idleCores(b, ctrl)
	h.PeakRSSMiB = ctrl.process(b).PeakRSSMiB

	const analysed = "controller_runtime_reconcile_total"
	before := ctrl.scrape(b).Sum(analysed, "controller", "analysisrun")
	inParallel(b, runs, func(ctx context.Context, i int) error {
		return createFinishedRun(ctx, e, fmt.Sprintf("app-%05d", i))
	})
	// Each finished run is reconciled once, when the controller first
	// sees it; the quiet after that is what is measured.
	clustertest.Eventually(b, 10*time.Minute, fmt.Sprintf("%d runs seen", runs), func(context.Context) (bool, string) {
		seen := ctrl.scrape(b).Sum(analysed, "controller", "analysisrun") - before
		return seen >= float64(runs), fmt.Sprintf("%.0f seen", seen)
	})
	h.FinishedRuns = runs
	h.IdleCoresWithRuns, h.RSSMiBWithRuns = idleCores(b, ctrl)
	h.PeakRSSMiB = ctrl.process(b).PeakRSSMiB
	b.ReportMetric(h.PeakRSSMiB, "peak-rss-MiB")
	b.ReportMetric(h.IdleCores, "idle-cores")
	record(b, cluster.Config(), func(r *Report) { r.Hold = h })
}

// idleCores watches the controller at rest for idleWindow and returns the
// cores it used and its resident memory at the end.
func idleCores(b *testing.B, ctrl controller) (cores, rssMiB float64) {
	b.Helper()
	p0 := ctrl.process(b)
	time.Sleep(idleWindow) // a measuring window, not a wait for anything
	p1 := ctrl.process(b)
	return (p1.CPUSeconds - p0.CPUSeconds) / idleWindow.Seconds(), p1.RSSMiB
}

// createFinishedRun creates an AnalysisRun of the Rollout that has ended
// (Successful), as a promoted canary leaves its runs. Its first
// measurement is an hour away, so the controller, which may see the run
// before it is marked ended, measures nothing.
func createFinishedRun(ctx context.Context, e *fixture.Env, rollout string) error {
	run := &rampv1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: rollout + "-done", Namespace: e.NS, Labels: map[string]string{rampv1.LabelRollout: rollout}},
		Spec: rampv1.AnalysisRunSpec{Metrics: []rampv1.Metric{{
			Name: "errors", SuccessCondition: "result == 0", InitialDelay: &metav1.Duration{Duration: time.Hour},
			Provider: rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: "http://127.0.0.1:1/errors", JSONPath: "{$.errors}"}},
		}}},
	}
	if err := e.C.Create(ctx, run); err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.C.Get(ctx, client.ObjectKeyFromObject(run), run); err != nil {
			return err
		}
		run.Status = rampv1.AnalysisRunStatus{Phase: rampv1.AnalysisSuccessful, StartedAt: &metav1.MicroTime{Time: time.Now()}, Message: "1 of 1 measurements passed"}
		return e.C.Status().Update(ctx, run)
	})
}

// inParallel runs create(i) for i in [0, n) on eight workers, and fails the
// benchmark with the first error.
func inParallel(b *testing.B, n int, create func(ctx context.Context, i int) error) {
	b.Helper()
	if err := inParallelErr(n, create); err != nil {
		b.Fatal(err)
	}
}

// inParallelErr is inParallel returning the first error, for a goroutine.
func inParallelErr(n int, create func(ctx context.Context, i int) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := create(context.Background(), i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
