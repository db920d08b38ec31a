package convert

import (
	"regexp"
	"strings"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// argName is the pattern of Ramp's argument names: queries use them as
// {{.Args.<name>}}.
var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// analysisStep converts a Rollout's reference to analysis templates: a
// step's, the background analysis, or a blue/green promotion's.
func analysisStep(c *converter, n *node) rampv1.AnalysisStep {
	var out rampv1.AnalysisStep
	for _, t := range n.list("templates") {
		ref := rampv1.TemplateRef{}
		ref.TemplateName, _ = t.str("templateName")
		ref.ClusterScope, _ = t.boolean("clusterScope")
		out.Templates = append(out.Templates, ref)
		t.done()
	}
	if len(out.Templates) == 0 {
		n.problem("templates", "required: name at least one template")
	}
	for _, a := range n.list("args") {
		arg := rampv1.Argument{Name: argumentName(a)}
		if v, ok := a.str("value"); ok {
			arg.Value = ptr.To(v)
		}
		if vf := a.obj("valueFrom"); vf != nil {
			if f := vf.obj("fieldRef"); f != nil {
				path, _ := f.str("fieldPath")
				switch {
				case path == "metadata.name" && c.name != "":
					// A Rollout's name never changes.
					arg.Value = ptr.To(c.name)
				case path == "metadata.namespace" && c.namespace != "":
					arg.Value = ptr.To(c.namespace)
				default:
					f.problem("fieldPath", "%s: Ramp's arguments are literal values, and this one is not known when converting; use {{.Rollout}} or {{.Namespace}} in the template's query, or a literal value", path)
				}
				f.done()
			}
			// podTemplateHashValue is refused by the table.
			vf.done()
		}
		out.Args = append(out.Args, arg)
		a.done()
	}
	return out
}

func argumentName(a *node) string {
	name, _ := a.str("name")
	out, ok := rampArgName(name)
	if !ok {
		a.problem("name", "%q: Ramp's argument names are letters, digits and _ (not starting with a digit), as queries use them as {{.Args.<name>}}; rename it in the template and in the Rollouts that pass it", name)
	}
	return out
}

// rampArgName is Ramp's name for one of Argo's arguments: - becomes _,
// the same in a template, its queries and the Rollouts that pass it, so
// that they still meet however they are converted.
func rampArgName(name string) (string, bool) {
	out := strings.ReplaceAll(name, "-", "_")
	return out, argName.MatchString(out) && len(out) <= 63
}
