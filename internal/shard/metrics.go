package shard

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// shardsHeld is how many shards this replica holds: the spread of the work
// over the replicas, and a handover, are seen in it.
var shardsHeld = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "ramp_shards_held",
	Help: "Shards whose Rollouts this replica reconciles (with --shards).",
})

func init() { metrics.Registry.MustRegister(shardsHeld) }
