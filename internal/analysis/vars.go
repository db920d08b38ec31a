package analysis

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Vars are the values a query template sees.
type Vars struct {
	Namespace      string
	Rollout        string
	StableRevision string
	CanaryRevision string
	StableService  string
	CanaryService  string
	// StablePods and CanaryPods are regular expressions matching the pod
	// names of each revision (<rollout>-<hash>-<suffix>; the stable
	// revision of a Deployment run in place, <its ReplicaSet>-<suffix>).
	StablePods string
	CanaryPods string
	Args       map[string]string
}

// NewVars builds the template values of a run.
func NewVars(namespace string, spec *rampv1.AnalysisRunSpec) Vars {
	c := spec.Context
	v := Vars{
		Namespace: namespace, Rollout: c.Rollout,
		StableRevision: c.StableRevision, CanaryRevision: c.CanaryRevision,
		StableService: c.StableService, CanaryService: c.CanaryService,
		StablePods: regexp.QuoteMeta(c.Rollout+"-"+c.StableRevision+"-") + ".*",
		CanaryPods: regexp.QuoteMeta(c.Rollout+"-"+c.CanaryRevision+"-") + ".*",
		Args:       map[string]string{},
	}
	if c.StableReplicaSet != "" {
		v.StablePods = regexp.QuoteMeta(c.StableReplicaSet+"-") + ".*"
	}
	for _, a := range spec.Args {
		if a.Value != nil {
			v.Args[a.Name] = *a.Value
		}
	}
	return v
}

// escaped returns vars with every value passed through esc, so that no
// value can break out of the place the template puts it in.
func (v Vars) escaped(esc func(string) string) Vars {
	out := v
	for _, f := range []*string{&out.Namespace, &out.Rollout, &out.StableRevision, &out.CanaryRevision,
		&out.StableService, &out.CanaryService, &out.StablePods, &out.CanaryPods} {
		*f = esc(*f)
	}
	out.Args = make(map[string]string, len(v.Args))
	for k, a := range v.Args {
		out.Args[k] = esc(a)
	}
	return out
}

// PromQLEscape escapes a value for a double-quoted PromQL string, such as
// a label matcher's: backslash, double quote and newline.
func PromQLEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// Render fills a query template. Values are escaped with esc; a missing
// argument is an error naming it.
func Render(name, text string, vars Vars, esc func(string) string) (string, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, vars.escaped(esc)); err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	return b.String(), nil
}
