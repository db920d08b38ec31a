package web

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the web provider (provider.web): any JSON URL.
var Descriptor = analysis.Descriptor{
	Name:     "web",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Web != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Secrets: e.Secrets} },
	Templates: func(p *rampv1.MetricProvider) []analysis.Field {
		return []analysis.Field{{Path: "url", Text: p.Web.URL}}
	},
}
