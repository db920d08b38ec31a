package controller_test

import (
	"context"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/controller"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// BenchmarkAbortToWeightZero measures a rollback with the SMI router: each
// iteration aborts a canary at 25% and waits until a watch sees the
// TrafficSplit give the canary 0. ns/op is end to end (annotation written →
// weight 0 observed); ms-in-controller-p50 is the controller's own part
// (rollback decided → weight 0 written), from its histogram.
func BenchmarkAbortToWeightZero(b *testing.B) {
	e := fixture.New(b)
	e.StartController()
	createRootService(e)
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0))
	ro.Spec.Service = "web"
	ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
	weights := e.Record(trafficSplitGVK)
	before := histogram(b)

	var latencies []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		abortRV := e.Request("web", rampv1.AnnotationAbort)
		var zero fixture.Write
		clustertest.Eventually(e.T, fixture.Wait, "weight 0", func(context.Context) (bool, string) {
			w, ok := weights.FirstWriteAfter("web", abortRV, func(u *unstructured.Unstructured) bool {
				return backendWeights("spec", "backends")(u) == "100:0"
			})
			zero = w
			return ok, ""
		})
		// When the watch delivered the write, not when the poll saw it.
		latencies = append(latencies, zero.Seen.Sub(start))
		b.StopTimer()
		e.Request("web", rampv1.AnnotationRetry)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "ms-end-to-end-p50")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "ms-end-to-end-p99")
	b.ReportMetric(quantile(before, histogram(b), 0.5)*1000, "ms-in-controller-p50")
}

// histogram reads the controller's rollback histogram (the controller runs
// in this process).
func histogram(b *testing.B) *dto.Histogram {
	m := &dto.Metric{}
	if err := controller.RollbackRouteSeconds.Write(m); err != nil {
		b.Fatal(err)
	}
	return m.GetHistogram()
}

// quantile estimates the q-quantile of the observations made between two
// readings, interpolating linearly inside the bucket that holds it.
func quantile(before, after *dto.Histogram, q float64) float64 {
	count := float64(after.GetSampleCount() - before.GetSampleCount())
	if count == 0 {
		return 0
	}
	rank, lower, prev := q*count, 0.0, 0.0
	for i, bk := range after.GetBucket() {
		n := float64(bk.GetCumulativeCount() - before.GetBucket()[i].GetCumulativeCount())
		if n >= rank {
			return lower + (bk.GetUpperBound()-lower)*(rank-prev)/(n-prev)
		}
		lower, prev = bk.GetUpperBound(), n
	}
	return lower
}
