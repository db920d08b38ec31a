package providers

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Validate finds, in an analysis template, what the API server's schema
// cannot: conditions that are not valid CEL, and query templates that do
// not parse or name a value no run gives. Each error names the field.
func Validate(spec *rampv1.AnalysisTemplateSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range spec.Metrics {
		m := &spec.Metrics[i]
		mp := path.Child("metrics").Index(i)
		for _, c := range []struct{ field, expr string }{{"successCondition", m.SuccessCondition}, {"failureCondition", m.FailureCondition}} {
			if c.expr == "" {
				continue
			}
			one := &rampv1.Metric{Name: m.Name, SuccessCondition: c.expr}
			if _, err := analysis.Compile(one); err != nil {
				errs = append(errs, field.Invalid(mp.Child(c.field), c.expr, err.Error()))
			}
		}
		for _, d := range All {
			if !d.Selected(&m.Provider) || d.Templates == nil {
				continue
			}
			pp := mp.Child("provider", providerField(d.Name))
			for _, f := range d.Templates(&m.Provider) {
				if err := analysis.CheckTemplate(f.Text); err != nil {
					errs = append(errs, field.Invalid(pp.Child(f.Path), f.Text, err.Error()))
				}
			}
		}
	}
	return errs
}

// providerField is a provider's field in MetricProvider.
func providerField(name string) string {
	switch name {
	case "newrelic":
		return "newRelic"
	case "cloudwatch":
		return "cloudWatch"
	case "influxdb":
		return "influxDB"
	}
	return name
}
