package rollout_test

import (
	"context"
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// metric reads a series of Ramp's metrics from the controller's registry:
// its value (a counter's, a gauge's, or a histogram's count).
func metric(name string, labels map[string]string) (float64, bool) {
	families, _ := metrics.Registry.Gather()
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue(), true
				case m.Gauge != nil:
					return m.Gauge.GetValue(), true
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount()), true
				}
			}
		}
	}
	return 0, false
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

// TestMetrics: a canary's phase, weight, steps and rollback show in
// Ramp's metrics, and a deleted Rollout's series go.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	rollbacksBefore, _ := metric("ramp_rollbacks_total", map[string]string{"reason": "Aborted"})
	stepsBefore, _ := metric("ramp_step_duration_seconds", map[string]string{"step": "setWeight"})
	startCanary(t, e, fixture.SetWeight(25), fixture.Pause(0))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	series := map[string]string{"namespace": e.NS, "rollout": "web"}
	with := func(k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range series {
			out[a] = b
		}
		return out
	}
	clustertest.Eventually(t, fixture.Wait, "the canary's gauges", func(context.Context) (bool, string) {
		paused, _ := metric("ramp_rollout_phase", with("phase", "Paused"))
		healthy, _ := metric("ramp_rollout_phase", with("phase", "Healthy"))
		weight, _ := metric("ramp_rollout_canary_weight_percent", with("weight", "reached"))
		steps, _ := metric("ramp_step_duration_seconds", map[string]string{"step": "setWeight"})
		return paused == 1 && healthy == 0 && weight == 25 && steps > stepsBefore,
			fmt.Sprintf("paused %v healthy %v weight %v steps %v", paused, healthy, weight, steps)
	})
	e.Request("web", rampv1.AnnotationAbort)
	clustertest.Eventually(t, fixture.Wait, "the rollback counted", func(context.Context) (bool, string) {
		degraded, _ := metric("ramp_rollout_phase", with("phase", "Degraded"))
		n, _ := metric("ramp_rollbacks_total", map[string]string{"reason": "Aborted"})
		return degraded == 1 && n > rollbacksBefore, fmt.Sprintf("degraded %v rollbacks %v", degraded, n)
	})
	if err := e.C.Delete(context.Background(), e.Get("web")); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, fixture.Wait, "the deleted Rollout's series to go", func(context.Context) (bool, string) {
		_, ok := metric("ramp_rollout_phase", series)
		return !ok, "still there"
	})
}
