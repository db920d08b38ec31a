package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// BenchmarkAnalysisLoad runs 100 background AnalysisRuns at once, each
// querying a real Prometheus every second, and measures over 30 s the
// queries Prometheus answered and the controller's CPU time.
func BenchmarkAnalysisLoad(b *testing.B) {
	n := count("RAMP_BENCH_ANALYSES", 100)
	const interval, window = time.Second, 30 * time.Second
	e := fixture.New(b)
	ctrl := startController(b, e)
	dir := b.TempDir()
	targets := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(targets, []byte("[]"), 0o644); err != nil {
		b.Fatal(err)
	}
	// Prometheus scrapes a port nothing listens on: `up` is 0, a series to
	// query all the same.
	prom, err := dataplane.StartPrometheus(context.Background(), dir, targets, "127.0.0.1:9")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = prom.Stop() })

	for i := range n {
		e.Create(&rampv1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("load-%03d", i), Namespace: e.NS},
			Spec: rampv1.AnalysisRunSpec{
				Metrics: []rampv1.Metric{{
					// The query's cost is the load; the verdict never ends the run.
					Name: "up", Interval: &metav1.Duration{Duration: interval}, SuccessCondition: "true",
					Provider: rampv1.MetricProvider{Prometheus: &rampv1.PrometheusMetric{Address: prom.URL, Query: "sum(up) or vector(0)"}},
				}},
				Context:         rampv1.AnalysisContext{Rollout: "load", StableRevision: "a", CanaryRevision: "b"},
				UntilTerminated: true,
			},
		})
	}
	clustertest.Eventually(b, fixture.Wait, "every run measuring", func(ctx context.Context) (bool, string) {
		var runs rampv1.AnalysisRunList
		if err := e.C.List(ctx, &runs, client.InNamespace(e.NS)); err != nil {
			return false, err.Error()
		}
		measuring := 0
		for _, r := range runs.Items {
			if r.Status.Phase.Done() {
				return false, fmt.Sprintf("%s ended: %s %s", r.Name, r.Status.Phase, r.Status.Message)
			}
			if len(r.Status.MetricResults) > 0 && r.Status.MetricResults[0].Count > 0 {
				measuring++
			}
		}
		return measuring == n, fmt.Sprintf("%d of %d measuring", measuring, n)
	})

	const queries = "prometheus_http_requests_total"
	q0, m0, p0, start := promScrape(b, prom.URL), ctrl.scrape(b), ctrl.process(b), time.Now()
	// A measuring window, not a wait for anything.
	time.Sleep(window)
	q1, m1, p1, took := promScrape(b, prom.URL), ctrl.scrape(b), ctrl.process(b), time.Since(start)

	a := &AnalysisLoad{
		Analyses: n, IntervalSeconds: interval.Seconds(), WindowSeconds: took.Seconds(),
		QueriesPerSecond: (q1.Sum(queries, "handler", "/api/v1/query") - q0.Sum(queries, "handler", "/api/v1/query")) / took.Seconds(),
		CPUCoresPer100:   (p1.CPUSeconds - p0.CPUSeconds) / took.Seconds() * 100 / float64(n),
		MeasurementsDone: m1.Sum("ramp_analysis_measurements_total") - m0.Sum("ramp_analysis_measurements_total"),
	}
	if a.MeasurementsDone == 0 || a.QueriesPerSecond == 0 {
		var names []string
		for name := range m1 {
			names = append(names, name)
		}
		b.Fatalf("no measurements (%v) or no queries (%v) counted: the benchmark reads the wrong series? controller has %v", a.MeasurementsDone, a.QueriesPerSecond, names)
	}
	b.ReportMetric(a.QueriesPerSecond, "queries/s")
	b.ReportMetric(a.CPUCoresPer100, "cores/100-analyses")
	record(b, clustertest.Config(b), func(r *Report) { r.Analysis = a })
}

func promScrape(b *testing.B, url string) Metrics {
	b.Helper()
	m, err := Scrape(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	return m
}
