package prometheus

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// Descriptor registers the Prometheus provider (provider.prometheus).
var Descriptor = analysis.Descriptor{
	Name:     "prometheus",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Prometheus != nil },
	New:      func(s outbound.Secrets) analysis.Provider { return Provider{Secrets: s} },
}
