package job

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// The rights the job provider needs: the Jobs of its measurements.
//
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete

// Descriptor registers the job provider (provider.job).
var Descriptor = analysis.Descriptor{
	Name:     "job",
	Selected: func(p *rampv1.MetricProvider) bool { return p.Job != nil },
	New:      func(e analysis.Env) analysis.Provider { return Provider{Client: e.Client, Run: e.Run} },
}
