package analysisrun

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The AnalysisRun reconciler's metrics (docs/metrics.md).
var (
	runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ramp_analysis_runs_total",
		Help: "AnalysisRuns finished, by verdict.",
	}, []string{"phase"})
	measurements = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ramp_analysis_measurements_total",
		Help: "Measurements taken, by provider and verdict (Error: the provider could not be asked).",
	}, []string{"provider", "phase"})
)

func init() { metrics.Registry.MustRegister(runs, measurements) }
