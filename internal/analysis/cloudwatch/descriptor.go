package cloudwatch

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Descriptor registers the CloudWatch provider (provider.cloudWatch).
var Descriptor = analysis.Descriptor{
	Name:     "cloudwatch",
	Selected: func(p *rampv1.MetricProvider) bool { return p.CloudWatch != nil },
	New:      func(analysis.Env) analysis.Provider { return Provider{} },
}
