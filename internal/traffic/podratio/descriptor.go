package podratio

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Descriptor registers pod ratio: the router of a Rollout without
// trafficRouting. Its pods are its traffic; it writes nothing.
var Descriptor = traffic.Descriptor{
	Name:     "pod ratio",
	Selected: func(s *rampv1.Strategy) bool { return s.BlueGreen == nil && s.Canary.TrafficRouting == nil },
	New:      func(traffic.Kube, *rampv1.Rollout) traffic.Router { return Router{} },
}
