package cloudwatch

import (
	"fmt"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the CloudWatch provider (provider.cloudWatch).
var Descriptor = analysis.Descriptor{
	Name:     "cloudwatch",
	Selected: func(p *rampv1.MetricProvider) bool { return p.CloudWatch != nil },
	New:      func(analysis.Env) analysis.Provider { return Provider{} },
	Templates: func(p *rampv1.MetricProvider) []analysis.Field {
		c := p.CloudWatch
		fields := []analysis.Field{{Path: "address", Text: c.Address}}
		for i, q := range c.Queries {
			fields = append(fields, analysis.Field{Path: fmt.Sprintf("queries[%d].expression", i), Text: q.Expression})
			if q.MetricStat != nil {
				for j, d := range q.MetricStat.Dimensions {
					fields = append(fields, analysis.Field{Path: fmt.Sprintf("queries[%d].metricStat.dimensions[%d].value", i, j), Text: d.Value})
				}
			}
		}
		return fields
	},
}
