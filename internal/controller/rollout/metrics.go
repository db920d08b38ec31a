package rollout

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/shard"
)

// The Rollout reconciler's metrics, served on the controller's metrics
// endpoint beside controller-runtime's (reconcile durations and errors,
// work queues) and those of the run reconcilers. docs/metrics.md lists
// them.
var (
	// RollbackRouteSeconds measures, inside the controller, how long a
	// rollback takes to reach the routing objects: from the pass that
	// decided it to the canary's weight 0 written.
	RollbackRouteSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ramp_rollback_route_seconds",
		Help:    "Time from a rollback decision to the canary's weight 0 written to the routing objects.",
		Buckets: []float64{.0005, .001, .002, .003, .004, .005, .0075, .01, .015, .02, .03, .05, .1, .25, .5, 1},
	})
	rolloutPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_rollout_phase",
		Help: "1 for the Rollout's current phase (Progressing, Paused, Healthy, Degraded), 0 for the others.",
	}, []string{"namespace", "rollout", "phase"})
	canaryWeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_rollout_canary_weight_percent",
		Help: "The canary's share of traffic, as asked by the current step and as reached.",
	}, []string{"namespace", "rollout", "weight"})
	stepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ramp_step_duration_seconds",
		Help:    "Time from a step's start to its end, by kind of step.",
		Buckets: prometheus.ExponentialBuckets(0.1, 3, 12), // 0.1s to about 5h
	}, []string{"step"})
	rollbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ramp_rollbacks_total",
		Help: "Canaries rolled back, by reason (AnalysisFailed, WebhookFailed, ProgressDeadlineExceeded, Aborted, ...).",
	}, []string{"reason"})
)

func init() {
	metrics.Registry.MustRegister(RollbackRouteSeconds, rolloutPhase, canaryWeight, stepSeconds, rollbacks)
}

var phases = []rampv1.Phase{rampv1.PhaseProgressing, rampv1.PhasePaused, rampv1.PhaseHealthy, rampv1.PhaseDegraded}

// recorded holds the Rollouts whose gauges this replica sets, by
// "namespace/name".
var recorded sync.Map

// recordRollout sets a Rollout's gauges from its status.
func recordRollout(ro *rampv1.Rollout) {
	recorded.Store(ro.Namespace+"/"+ro.Name, true)
	for _, p := range phases {
		v := 0.0
		if ro.Status.Phase == p {
			v = 1
		}
		rolloutPhase.WithLabelValues(ro.Namespace, ro.Name, string(p)).Set(v)
	}
	canaryWeight.WithLabelValues(ro.Namespace, ro.Name, "asked").Set(ro.Status.Weight.Asked.Float())
	canaryWeight.WithLabelValues(ro.Namespace, ro.Name, "reached").Set(ro.Status.Weight.Reached.Float())
}

// forgetRollout drops a deleted Rollout's gauges.
func forgetRollout(namespace, name string) {
	recorded.Delete(namespace + "/" + name)
	labels := prometheus.Labels{"namespace": namespace, "rollout": name}
	rolloutPhase.DeletePartialMatch(labels)
	canaryWeight.DeletePartialMatch(labels)
}

// forgetShard drops the gauges of the Rollouts in a shard this replica no
// longer holds (of n): their new holder reports them, and two replicas
// reporting one Rollout would count it twice, the old one stale.
func forgetShard(i, n int) {
	recorded.Range(func(key, _ any) bool {
		if shard.Of(key.(string), n) == i {
			namespace, name, _ := strings.Cut(key.(string), "/")
			forgetRollout(namespace, name)
		}
		return true
	})
}

// stepKind names a step's kind for metrics.
func stepKind(s rampv1.Step) string {
	switch {
	case s.SetWeight != nil:
		return "setWeight"
	case s.Pause != nil:
		return "pause"
	case s.Analysis != nil:
		return "analysis"
	case s.Webhook != nil:
		return "webhook"
	case s.Job != nil:
		return "job"
	case s.SetHeaderRoute != nil:
		return "setHeaderRoute"
	case s.SetCookieRoute != nil:
		return "setCookieRoute"
	case s.SetMirrorRoute != nil:
		return "setMirrorRoute"
	}
	return "unknown"
}
