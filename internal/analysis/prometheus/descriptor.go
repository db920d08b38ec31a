package prometheus

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the Prometheus provider (provider.prometheus).
var Descriptor = analysis.Descriptor{
	Name:     "prometheus",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Prometheus != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Secrets: e.Secrets} },
	Templates: func(p *rampv1.MetricProvider) []analysis.Field {
		return []analysis.Field{{Path: "address", Text: p.Prometheus.Address}, {Path: "query", Text: p.Prometheus.Query}}
	},
}
