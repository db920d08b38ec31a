package newrelic

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the New Relic provider (provider.newRelic).
var Descriptor = analysis.Descriptor{
	Name:     "newrelic",
	Selected: func(p *rampv1.MetricProvider) bool { return p.NewRelic != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Secrets: e.Secrets} },
	Templates: func(p *rampv1.MetricProvider) []analysis.Field {
		n := p.NewRelic
		return []analysis.Field{{Path: "address", Text: n.Address}, {Path: "accountID", Text: n.AccountID}, {Path: "query", Text: n.Query}}
	},
}
