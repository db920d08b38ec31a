package hookrun

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The HookRun reconciler's metrics (docs/metrics.md).
var runs = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "ramp_hook_runs_total",
	Help: "HookRuns finished, by kind (webhook, job) and verdict.",
}, []string{"kind", "phase"})

func init() { metrics.Registry.MustRegister(runs) }
