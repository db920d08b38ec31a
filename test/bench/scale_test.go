package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// BenchmarkScale runs 1,000 Rollouts (2 replicas each, SMI) through three
// weighted steps at once, with one controller at its shipped settings, on
// a cluster of its own. It reads the controller's reconcile histogram and
// its client's request counters before and after, and /proc for its CPU
// time and peak memory.
func BenchmarkScale(b *testing.B) {
	n := count("RAMP_BENCH_ROLLOUTS", 1000)
	const concurrency, steps = 4, 3
	cluster, c := fixture.OwnCluster(b, localcluster.Options{PodCIDR: "127.6.0.0/16", AuditWrites: true})
	e := &fixture.Env{T: b, NS: "default", C: c, Kubeconfig: cluster.KubeconfigPath}
	ctrl := startController(b, e, "--concurrency", strconv.Itoa(concurrency))

	created := time.Now()
	stable := createSettled(b, e, n, 2, fixture.SetWeight(25), fixture.SetWeight(50), fixture.SetWeight(75))
	createWall := time.Since(created)

	api := apiserverMetrics(b, cluster.Config())
	a0, m0, p0, start := api(), ctrl.scrape(b), ctrl.process(b), time.Now()
	profile := captureProfile(ctrl, 30*time.Second)
	newImage(b, e, n, "app:v2")
	allSettled(b, e, n, 30*time.Minute, func(ro *rampv1.Rollout) bool {
		return ro.Status.StableRevision != stable[ro.Name]
	})
	end := time.Now()
	wall := end.Sub(start)
	m1, p1, a1 := ctrl.scrape(b), ctrl.process(b), api()
	writes, err := cluster.AuditedWrites()
	if err != nil {
		b.Fatal(err)
	}

	const reconcile = "controller_runtime_reconcile_time_seconds"
	before, after := m0.Buckets(reconcile, "controller", "rollout"), m1.Buckets(reconcile, "controller", "rollout")
	perStep := float64(n * (steps + 1)) // the three weights and the promotion
	s := &Scale{
		Rollouts: n, Steps: steps, Concurrency: concurrency,
		WallSeconds:       wall.Seconds(),
		ReconcileP50Ms:    1000 * Quantile(0.5, before, after),
		ReconcileP99Ms:    1000 * Quantile(0.99, before, after),
		Reconciles:        after[inf] - before[inf],
		RequestsPerStep:   (m1.Sum("rest_client_requests_total") - m0.Sum("rest_client_requests_total")) / perStep,
		WritesByVerb:      map[string]float64{},
		CPUSeconds:        p1.CPUSeconds - p0.CPUSeconds,
		PeakRSSMiB:        p1.PeakRSSMiB,
		CreateWallSeconds: createWall.Seconds(),
	}
	for _, verb := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		w := (m1.Sum("rest_client_requests_total", "method", verb) - m0.Sum("rest_client_requests_total", "method", verb)) / perStep
		s.WritesByVerb[verb] = w
		s.WritesPerStep += w
	}
	const requestSeconds = "apiserver_request_duration_seconds"
	for _, verb := range []string{"PATCH", "POST"} {
		before, after := a0.Buckets(requestSeconds, "verb", verb), a1.Buckets(requestSeconds, "verb", verb)
		s.APIServerWriteMs = append(s.APIServerWriteMs, VerbLatency{Verb: verb,
			P50Ms: 1000 * Quantile(0.5, before, after), P99Ms: 1000 * Quantile(0.99, before, after)})
	}
	if err := <-profile; err != nil {
		b.Logf("CPU profile: %v", err)
	}
	// The API server's audit log says what was written.
	s.WritesByResource = map[string]float64{}
	for _, w := range writes {
		if strings.Contains(w.UserAgent, "replica=") && !w.Received.Before(start) && !w.Received.After(end) {
			s.WritesByResource[w.Verb+" "+w.Resource()] += 1 / perStep
		}
	}
	b.ReportMetric(s.ReconcileP99Ms, "reconcile-p99-ms")
	b.ReportMetric(s.PeakRSSMiB, "peak-rss-MiB")
	b.ReportMetric(s.WritesPerStep, "writes/rollout-step")
	record(b, cluster.Config(), func(r *Report) { r.Scale = s })
}

// apiserverMetrics returns a scraper of kube-apiserver's own metrics.
func apiserverMetrics(b *testing.B, cfg *rest.Config) func() Metrics {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return func() Metrics {
		data, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		m, err := p.TextToMetricFamilies(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
}

// captureProfile takes a CPU profile of the controller over d, from its
// pprof port, into bench/scale-cpu.pprof (`go tool pprof -top` reads it).
func captureProfile(c controller, d time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() { done <- saveProfile(c, fmt.Sprintf("profile?seconds=%d", int(d.Seconds())), "scale-cpu.pprof") }()
	return done
}

// saveProfile saves the controller's profile at path (under its pprof
// address, e.g. "heap?gc=1") into bench/file, which git ignores.
func saveProfile(c controller, path, file string) error {
	repo, err := localcluster.RepoDir()
	if err != nil {
		return err
	}
	resp, err := http.Get(c.Pprof + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(repo, "bench", file), data, 0o644)
}

// createSettled creates n Rollouts app-0000... of the given replicas and
// steps (SMI), waits until all run their first revision, and returns each
// one's stable revision.
func createSettled(b *testing.B, e *fixture.Env, n int, replicas int32, steps ...rampv1.Step) map[string]string {
	b.Helper()
	inParallel(b, n, func(ctx context.Context, i int) error {
		ro := e.Rollout(fmt.Sprintf("app-%04d", i), "app:v1", steps...)
		ro.Spec.Replicas = ptr.To(replicas)
		e.Route(ro, fixture.SMI)
		return e.C.Create(ctx, ro)
	})
	stable := map[string]string{}
	allSettled(b, e, n, 15*time.Minute, func(ro *rampv1.Rollout) bool {
		stable[ro.Name] = ro.Status.StableRevision
		return ro.Status.StableRevision != ""
	})
	return stable
}

// newImage gives the n Rollouts app-0000... a new image, one after the
// other.
func newImage(b *testing.B, e *fixture.Env, n int, image string) {
	b.Helper()
	for i := range n {
		if err := setImage(context.Background(), e, fmt.Sprintf("app-%04d", i), image); err != nil {
			b.Fatal(err)
		}
	}
}

// setImage gives one Rollout a new image.
func setImage(ctx context.Context, e *fixture.Env, name, image string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ro := &rampv1.Rollout{}
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: name}, ro); err != nil {
			return err
		}
		ro.Spec.Template.Spec.Containers[0].Image = image
		return e.C.Update(ctx, ro)
	})
}

// allSettled waits until all n Rollouts are Healthy with no canary, their
// status current, and done says each is where it should be.
func allSettled(b *testing.B, e *fixture.Env, n int, timeout time.Duration, done func(*rampv1.Rollout) bool) {
	b.Helper()
	clustertest.Eventually(b, timeout, fmt.Sprintf("%d Rollouts settled", n), func(ctx context.Context) (bool, string) {
		var list rampv1.RolloutList
		if err := e.C.List(ctx, &list, client.InNamespace(e.NS)); err != nil {
			return false, err.Error()
		}
		settled := 0
		for i := range list.Items {
			ro := &list.Items[i]
			if ro.Status.Phase == rampv1.PhaseHealthy && ro.Status.CanaryRevision == "" &&
				ro.Status.ObservedGeneration == ro.Generation && done(ro) {
				settled++
			}
		}
		return settled == n, fmt.Sprintf("%d of %d settled", settled, len(list.Items))
	})
}
