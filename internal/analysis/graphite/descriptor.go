package graphite

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the Graphite provider (provider.graphite).
var Descriptor = analysis.Descriptor{
	Name:     "graphite",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Graphite != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Secrets: e.Secrets} },
	Templates: func(p *rampv1.MetricProvider) []analysis.Field {
		return []analysis.Field{{Path: "address", Text: p.Graphite.Address}, {Path: "target", Text: p.Graphite.Target}}
	},
}
