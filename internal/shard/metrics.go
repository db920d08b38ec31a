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

// replica names this replica in the shard Leases (and in its requests'
// user agent), to match a process's metrics with what the Leases and the
// API server's audit log say of it.
var replica = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "ramp_shard_replica_info",
	Help: "This replica's identity in the shard Leases (with --shards); always 1.",
}, []string{"identity"})

func init() { metrics.Registry.MustRegister(shardsHeld, replica) }
