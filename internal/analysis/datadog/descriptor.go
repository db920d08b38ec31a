package datadog

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// Descriptor registers the Datadog provider (provider.datadog).
var Descriptor = analysis.Descriptor{
	Name:     "datadog",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Datadog != nil },
	New:      func(s outbound.Secrets) analysis.Provider { return Provider{Secrets: s} },
}
