package datadog

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the Datadog provider (provider.datadog).
var Descriptor = analysis.Descriptor{
	Name:     "datadog",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Datadog != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Secrets: e.Secrets} },
}
