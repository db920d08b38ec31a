package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// RollbackRouteSeconds measures, inside the controller, how long a rollback
// takes to reach the routing objects: from the pass that decided it to the
// canary's weight 0 written. It is served on the metrics endpoint as
// ramp_rollback_route_seconds.
var RollbackRouteSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "ramp_rollback_route_seconds",
	Help:    "Time from a rollback decision to the canary's weight 0 written to the routing objects.",
	Buckets: []float64{.0005, .001, .002, .003, .004, .005, .0075, .01, .015, .02, .03, .05, .1, .25, .5, 1},
})

func init() {
	metrics.Registry.MustRegister(RollbackRouteSeconds)
}
