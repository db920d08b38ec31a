package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// count reads a benchmark size from the environment (for a quick run),
// else def.
func count(env string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n > 0 {
		return n
	}
	return def
}

// replicas of the latency benchmarks' Rollouts: ten, so that pod ratio
// moves one pod per 10%.
const replicas = 10

// BenchmarkShift promotes canaries step by step, 10% at a time, and times
// each promotion to the next weight written (seen by a watch), per router.
// Mesh routers run the canary at full scale, so a shift is a weight write
// and not a wait for pods; pod ratio's shift is the canary's next scale.
func BenchmarkShift(b *testing.B) {
	n := count("RAMP_BENCH_TRANSITIONS", 100)
	for _, router := range fixture.Routers {
		b.Run(slug(router), func(b *testing.B) {
			e := fixture.New(b)
			startController(b, e)
			var steps []rampv1.Step
			for w := int64(10); w <= 90; w += 10 {
				steps = append(steps, fixture.SetWeight(w), fixture.Pause(0))
			}
			ro := e.Rollout("shift", "app:v1", steps...)
			ro.Spec.Replicas = ptr.To[int32](replicas)
			if router != fixture.PodRatio {
				ro.Spec.Strategy.Canary.CanaryScale = rampv1.CanaryScaleFull
			}
			e.Route(ro, router)
			e.Create(ro)
			healthy(b, e, "shift")
			rec := e.Record(router.GVK())

			var ds []time.Duration
			for version := 2; len(ds) < n; version++ {
				e.SetImage("shift", fmt.Sprintf("app:v%d", version))
				for step := int32(1); step < int32(len(steps))-1 && len(ds) < n; step += 2 {
					pausedAt(b, e, "shift", step)
					next := float64(10 * (step/2 + 2))
					object := routingObject(e, router, "shift")
					start := time.Now()
					rv := e.Request("shift", rampv1.AnnotationPromote)
					ds = append(ds, weightSeen(b, rec, router, object, rv, next, replicas).Sub(start))
				}
				e.Request("shift", rampv1.AnnotationPromoteFull)
				healthy(b, e, "shift")
			}
			l := Summarise(ds)
			b.ReportMetric(l.P50Ms, "p50-ms")
			b.ReportMetric(l.P99Ms, "p99-ms")
			record(b, clustertest.Config(b), func(r *Report) {
				if r.Shift == nil {
					r.Shift = map[string]Latency{}
				}
				r.Shift[string(router)] = l
			})
		})
	}
}

// BenchmarkRollback aborts a canary at 30% and times the abort to the
// canary's weight 0 written (seen by a watch), then retries it, per
// router. The controller's own share, from the decision to the write, is
// read from its ramp_rollback_route_seconds histogram.
func BenchmarkRollback(b *testing.B) {
	n := count("RAMP_BENCH_ROLLBACKS", 50)
	for _, router := range fixture.Routers {
		b.Run(slug(router), func(b *testing.B) {
			e := fixture.New(b)
			ctrl := startController(b, e)
			rec := canaryAt30(b, e, router, "rollback")
			before := ctrl.scrape(b).Buckets("ramp_rollback_route_seconds")

			var ds []time.Duration
			for range n {
				pausedAt(b, e, "rollback", 1)
				object := routingObject(e, router, "rollback")
				start := time.Now()
				rv := e.Request("rollback", rampv1.AnnotationAbort)
				ds = append(ds, weightSeen(b, rec, router, object, rv, 0, replicas).Sub(start))
				retryCanary(b, e, rec, router, "rollback", object)
			}
			after := ctrl.scrape(b).Buckets("ramp_rollback_route_seconds")
			l := Summarise(ds)
			b.ReportMetric(l.P50Ms, "p50-ms")
			// Pod ratio has no routing object: the histogram stays empty.
			inside := Latency{N: int(after[inf] - before[inf])}
			if inside.N > 0 {
				inside.P50Ms, inside.P99Ms = 1000*Quantile(0.5, before, after), 1000*Quantile(0.99, before, after)
				b.ReportMetric(inside.P50Ms, "in-controller-p50-ms")
			}
			record(b, clustertest.Config(b), func(r *Report) {
				if r.Rollback == nil {
					r.Rollback = map[string]Latency{}
				}
				if r.RollbackInController == nil {
					r.RollbackInController = map[string]Latency{}
				}
				r.Rollback[string(router)] = l
				if inside.N > 0 {
					r.RollbackInController[string(router)] = inside
				}
			})
		})
	}
}

// BenchmarkRollbackOnAnalysis times a rollback an analysis triggers: a
// metric server answers well until told to fail; from its first failing
// answer to the canary's weight 0 seen (SMI), then the canary is retried
// with the server answering well again.
func BenchmarkRollbackOnAnalysis(b *testing.B) {
	n := count("RAMP_BENCH_ROLLBACKS", 50) / 2
	e := fixture.New(b)
	startController(b, e)
	var mu sync.Mutex
	failing, failedAt := false, time.Time{}
	metric := fixture.NewTestSystem(b, func(int, fixture.Call) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			if failedAt.IsZero() {
				failedAt = time.Now()
			}
			return http.StatusOK, `{"errorRate": 0.5}`
		}
		return http.StatusOK, `{"errorRate": 0}`
	})
	e.Create(&rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS},
		Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
			Name: "error-rate", Interval: &metav1.Duration{Duration: 200 * time.Millisecond},
			SuccessCondition: "result <= 0.01",
			Provider:         rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: metric.URL, JSONPath: "{.errorRate}"}},
		}}},
	})
	ro := e.Rollout("analysed", "app:v1", fixture.SetWeight(30), fixture.Pause(0))
	ro.Spec.Replicas = ptr.To[int32](replicas)
	ro.Spec.Strategy.Canary.Analysis = &rampv1.BackgroundAnalysis{AnalysisStep: rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}}
	e.Route(ro, fixture.SMI)
	e.Create(ro)
	healthy(b, e, "analysed")
	rec := e.Record(fixture.SMI.GVK())
	e.SetImage("analysed", "app:v2")

	var ds []time.Duration
	for range n {
		pausedAt(b, e, "analysed", 1)
		rv := e.Get("analysed").ResourceVersion
		after, _ := strconv.ParseInt(rv, 10, 64)
		mu.Lock()
		failing, failedAt = true, time.Time{}
		mu.Unlock()
		seen := weightSeen(b, rec, fixture.SMI, "analysed", after, 0, replicas)
		mu.Lock()
		ds = append(ds, seen.Sub(failedAt))
		failing = false
		mu.Unlock()
		retryCanary(b, e, rec, fixture.SMI, "analysed", "analysed")
	}
	l := Summarise(ds)
	b.ReportMetric(l.P50Ms, "p50-ms")
	record(b, clustertest.Config(b), func(r *Report) { r.RollbackOnAnalysis = &l })
}

// canaryAt30 creates Rollout name at v1 (steps: 30%, pause), waits for it
// Healthy, records its routing object's writes, and gives it v2.
func canaryAt30(b *testing.B, e *fixture.Env, router fixture.Router, name string) *fixture.Recorder {
	b.Helper()
	ro := e.Rollout(name, "app:v1", fixture.SetWeight(30), fixture.Pause(0))
	ro.Spec.Replicas = ptr.To[int32](replicas)
	e.Route(ro, router)
	e.Create(ro)
	healthy(b, e, name)
	rec := e.Record(router.GVK())
	e.SetImage(name, "app:v2")
	return rec
}

// retryCanary waits until the abort is recorded (the Rollout Degraded), asks for
// a retry, and waits until the canary has its 30% again.
func retryCanary(b *testing.B, e *fixture.Env, rec *fixture.Recorder, router fixture.Router, name, object string) {
	b.Helper()
	clustertest.Eventually(b, fixture.Wait, name+" degraded", func(context.Context) (bool, string) {
		ro := e.Get(name)
		return ro.Status.Phase == rampv1.PhaseDegraded, string(ro.Status.Phase)
	})
	rv := e.Request(name, rampv1.AnnotationRetry)
	weightSeen(b, rec, router, object, rv, 30, replicas)
}
