package analysis

import (
	"fmt"
	"slices"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Template is an analysis template's spec and the name it is known by.
type Template struct {
	Name string
	Spec *rampv1.AnalysisTemplateSpec
}

// Assemble builds the metrics and arguments of a run from its templates
// and the values given for it (a step's args, the CLI's --arg): every
// template's metrics, and every argument with the value given, else the
// template's default. A metric defined twice, or an argument left with no
// value, is an error that says how to fix it.
func Assemble(templates []Template, given []rampv1.Argument) (rampv1.AnalysisRunSpec, error) {
	var spec rampv1.AnalysisRunSpec
	names := make([]string, len(templates))
	for i, t := range templates {
		names[i] = t.Name
	}
	args := map[string]*string{}
	var order []string
	for _, t := range templates {
		for _, a := range t.Spec.Args {
			if _, seen := args[a.Name]; !seen {
				order = append(order, a.Name)
				args[a.Name] = a.Value
			}
		}
		for _, m := range t.Spec.Metrics {
			if slices.ContainsFunc(spec.Metrics, func(x rampv1.Metric) bool { return x.Name == m.Name }) {
				return spec, fmt.Errorf("analysis templates %v define metric %q twice; rename one", names, m.Name)
			}
			spec.Metrics = append(spec.Metrics, m)
		}
	}
	for _, a := range given {
		if _, seen := args[a.Name]; !seen {
			order = append(order, a.Name)
		}
		args[a.Name] = a.Value
	}
	for _, n := range order {
		if args[n] == nil {
			return spec, fmt.Errorf("argument %q of analysis templates %v has no value: give it in the step's args", n, names)
		}
		spec.Args = append(spec.Args, rampv1.Argument{Name: n, Value: args[n]})
	}
	return spec, nil
}
