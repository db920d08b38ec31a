package convert

import (
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// metricName is the pattern of Ramp's metric names.
var metricName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// template converts an AnalysisTemplate or a ClusterAnalysisTemplate into
// out, which is Ramp's kind of the same name.
func template(c *converter, n *node, out runtime.Object) runtime.Object {
	meta := metadata(c, n)
	spec := n.obj("spec")
	var s rampv1.AnalysisTemplateSpec
	if spec == nil {
		n.problem("spec", "required: the template has no spec")
	} else {
		s = templateSpec(c, spec)
		spec.done()
	}
	tm := metav1.TypeMeta{APIVersion: rampv1.GroupVersion.String()}
	switch t := out.(type) {
	case *rampv1.AnalysisTemplate:
		tm.Kind = "AnalysisTemplate"
		t.TypeMeta, t.ObjectMeta, t.Spec = tm, meta, s
	case *rampv1.ClusterAnalysisTemplate:
		tm.Kind = "ClusterAnalysisTemplate"
		t.TypeMeta, t.ObjectMeta, t.Spec = tm, meta, s
	}
	return out
}

func templateSpec(c *converter, n *node) rampv1.AnalysisTemplateSpec {
	var s rampv1.AnalysisTemplateSpec
	seen := map[string]bool{}
	for _, a := range n.list("args") {
		arg := rampv1.Argument{Name: argumentName(a)}
		if seen[arg.Name] {
			a.problem("name", "two arguments are named %s in Ramp (- becomes _); rename one", arg.Name)
		}
		seen[arg.Name] = true
		if v, ok := a.str("value"); ok {
			arg.Value = ptr.To(v)
		}
		// valueFrom (a Secret, a field of the Rollout) is refused by the table.
		if vf := a.obj("valueFrom"); vf != nil {
			vf.done()
		}
		s.Args = append(s.Args, arg)
		a.done()
	}
	for _, m := range n.list("metrics") {
		s.Metrics = append(s.Metrics, metric(c, m))
		m.done()
	}
	if len(s.Metrics) == 0 && len(c.problems) == 0 {
		n.problem("metrics", "required: Ramp's templates have at least one metric")
	}
	return s
}

func metric(c *converter, n *node) rampv1.Metric {
	var m rampv1.Metric
	m.Name, _ = n.str("name")
	if !metricName.MatchString(m.Name) || len(m.Name) > 63 {
		n.problem("name", "%q: Ramp's metric names are DNS labels (lower case, digits, -) of at most 63 characters; rename it", m.Name)
	}
	interval, hasInterval := n.duration("interval", false)
	if hasInterval {
		m.Interval = &metav1.Duration{Duration: *interval}
	}
	if d, ok := n.duration("initialDelay", false); ok {
		m.InitialDelay = &metav1.Duration{Duration: *d}
	}
	count, hasCount := n.int32("count", 0)
	switch {
	case hasCount && *count > 0:
		m.Count = count
	case !hasInterval:
		// Argo measures once without count and interval.
		m.Count = ptr.To(int32(1))
	}
	if v, ok := n.integer("failureLimit"); ok {
		if v < 0 {
			n.problem("failureLimit", "%d: Ramp has no unlimited failures; give a number of failed measurements to tolerate", v)
		} else {
			m.FailureLimit = ptr.To(int32(v))
		}
	}
	m.InconclusiveLimit, _ = n.int32("inconclusiveLimit", 0)
	m.ConsecutiveErrorLimit, _ = n.int32("consecutiveErrorLimit", 0)
	if v, ok := n.integer("consecutiveSuccessLimit"); ok && v != 0 {
		n.problem("consecutiveSuccessLimit", "%d: Ramp counts judged measurements (count) and tolerated failures (failureLimit), not successes in a row; remove it and set count", v)
	}
	success, _ := n.str("successCondition")
	failure, _ := n.str("failureCondition")
	if success != "" && failure != "" {
		n.problem("failureCondition", "a metric with both conditions: Argo judges a measurement that meets neither Inconclusive, Ramp judges it Failed; keep one condition")
	}
	for _, f := range []struct {
		key, expr string
		to        *string
		failure   bool
	}{{"successCondition", success, &m.SuccessCondition, false}, {"failureCondition", failure, &m.FailureCondition, true}} {
		if f.expr == "" {
			continue
		}
		cel, empty, err := condition(f.expr, f.failure)
		if err != nil {
			n.problem(f.key, "%q cannot be translated to CEL with certainty: %v; write it in CEL in the converted template (docs/analysis.md)", f.expr, err)
			continue
		}
		*f.to = cel
		if empty != "" {
			m.EmptyResult = empty
		}
	}
	if p := n.obj("provider"); p != nil {
		m.Provider = provider(c, p, &m)
		p.done()
	} else {
		n.problem("provider", "required")
	}
	return m
}

// argTag is Argo's argument reference in a template: {{args.name}}, with
// or without spaces.
var argTag = regexp.MustCompile(`\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}`)

// templated turns Argo's {{args.x}} in a field Ramp templates into Go
// template syntax, {{.Args.x}}. A {{ that is not an argument, or that
// text/template would read, is refused: Ramp would render it.
func templated(n *node, key, s string) string {
	out := argTag.ReplaceAllStringFunc(s, func(tag string) string {
		name, ok := rampArgName(argTag.FindStringSubmatch(tag)[1])
		if !ok {
			return tag
		}
		return "{{.Args." + name + "}}"
	})
	if strings.Count(out, "{{") != strings.Count(out, "{{.Args.") {
		n.problem(key, "%q: only {{args.<name>}} (with a name of letters, digits and _) is translated; Ramp renders the field as a Go template", s)
	}
	return out
}

// literal refuses a template in a field Ramp does not template.
func literal(n *node, key, s string) string {
	if strings.Contains(s, "{{") {
		n.problem(key, "%q: %s", s, noTemplated)
	}
	return s
}
