package influxdb

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the InfluxDB provider (provider.influxDB).
var Descriptor = analysis.Descriptor{
	Name:     "influxdb",
	Selected: func(p *rampv1.MetricProvider) bool { return p.InfluxDB != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Secrets: e.Secrets} },
	Templates: func(p *rampv1.MetricProvider) []analysis.Field {
		i := p.InfluxDB
		return []analysis.Field{{Path: "address", Text: i.Address}, {Path: "flux", Text: i.Flux}, {Path: "influxQL", Text: i.InfluxQL}}
	},
}
