package datadog

import (
	"fmt"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the Datadog provider (provider.datadog).
var Descriptor = analysis.Descriptor{
	Name:     "datadog",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Datadog != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Secrets: e.Secrets} },
	Templates: func(p *rampv1.MetricProvider) []analysis.Field {
		d := p.Datadog
		fields := []analysis.Field{{Path: "address", Text: d.Address}, {Path: "query", Text: d.Query}}
		for i, q := range d.Queries {
			fields = append(fields, analysis.Field{Path: fmt.Sprintf("queries[%d].query", i), Text: q.Query})
		}
		return fields
	},
}
