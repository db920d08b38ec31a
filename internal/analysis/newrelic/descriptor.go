package newrelic

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// Descriptor registers the New Relic provider (provider.newRelic).
var Descriptor = analysis.Descriptor{
	Name:     "newrelic",
	Selected: func(p *rampv1.MetricProvider) bool { return p.NewRelic != nil },
	New:      func(s outbound.Secrets) analysis.Provider { return Provider{Secrets: s} },
}
