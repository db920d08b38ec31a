package validation

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/providers"
)

// Resolve finds what a Rollout's canary needs from other objects, and
// checks it as its steps will use it: every analysis template found, valid
// and given all its arguments; every Secret and key that a webhook or a
// template's provider reads; an adopted Deployment, selected by the
// Rollout's selector. Routing objects are Routing's.
//
// A read that fails for another reason than absence is returned as an
// error, not as a finding: the cluster, not the Rollout, is at fault.
func Resolve(ctx context.Context, r client.Reader, ro *rampv1.Rollout) (field.ErrorList, error) {
	res := &resolver{ctx: ctx, r: r, ns: ro.Namespace, secrets: map[string]*corev1.Secret{}}
	spec := field.NewPath("spec")
	if ref := ro.Spec.WorkloadRef; ref != nil {
		res.workload(ro, ref, spec.Child("workloadRef", "name"))
	}
	for _, l := range stepLists(ro) {
		for i, s := range l.steps {
			if s.Analysis != nil {
				res.analysis(s.Analysis, l.path.Index(i).Child("analysis"))
			}
		}
	}
	if a := ro.Spec.Strategy.Canary.Analysis; a != nil && ro.Spec.Strategy.BlueGreen == nil {
		res.analysis(&a.AnalysisStep, spec.Child("strategy", "canary", "analysis"))
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		res.secretRefs(bg, spec.Child("strategy", "blueGreen")) // not the canary it is carried out as
	} else {
		res.secretRefs(ro.Spec.Strategy.Canary, spec.Child("strategy", "canary"))
	}
	return res.errs, res.err
}

type resolver struct {
	ctx     context.Context
	r       client.Reader
	ns      string
	secrets map[string]*corev1.Secret // read once per name; nil: not found
	errs    field.ErrorList
	err     error // the first read that failed for another reason than absence
}

// get reads obj, and says whether it exists.
func (res *resolver) get(key client.ObjectKey, obj client.Object) bool {
	err := res.r.Get(res.ctx, key, obj)
	if err != nil && !apierrors.IsNotFound(err) && res.err == nil {
		res.err = err
	}
	return err == nil
}

func (res *resolver) workload(ro *rampv1.Rollout, ref *rampv1.WorkloadRef, path *field.Path) {
	kind, obj, tmpl := ref.NewObject()
	if !res.get(client.ObjectKey{Namespace: res.ns, Name: ref.Name}, obj) {
		res.errs = append(res.errs, notFound(path, ref.Name, kind+" not found; create it or fix the name"))
		return
	}
	labelsPath := field.NewPath(kind+" "+ref.Name).Child("spec", "template", "metadata", "labels")
	res.errs = append(res.errs, Selector(ro.Spec.Selector, tmpl, labelsPath)...)
}

// analysis reads a step's templates and assembles its run, as the
// controller will.
func (res *resolver) analysis(step *rampv1.AnalysisStep, path *field.Path) {
	var templates []analysis.Template
	for j, ref := range step.Templates {
		p := path.Child("templates").Index(j).Child("templateName")
		kind, spec := "AnalysisTemplate", (*rampv1.AnalysisTemplateSpec)(nil)
		if ref.ClusterScope {
			kind = "ClusterAnalysisTemplate"
			if t := (&rampv1.ClusterAnalysisTemplate{}); res.get(client.ObjectKey{Name: ref.TemplateName}, t) {
				spec = &t.Spec
			}
		} else if t := (&rampv1.AnalysisTemplate{}); res.get(client.ObjectKey{Namespace: res.ns, Name: ref.TemplateName}, t) {
			spec = &t.Spec
		}
		if spec == nil {
			res.errs = append(res.errs, notFound(p, ref.TemplateName, kind+" not found; create it or fix templateName"))
			continue
		}
		for _, e := range providers.Validate(spec, field.NewPath("spec")) {
			res.errs = append(res.errs, field.Invalid(p, ref.TemplateName, fmt.Sprintf("%s %s: %s", kind, ref.TemplateName, e.Error())))
		}
		res.secretRefs(spec, field.NewPath(kind+" "+ref.TemplateName, "spec"))
		templates = append(templates, analysis.Template{Name: ref.TemplateName, Spec: spec})
	}
	if len(templates) < len(step.Templates) {
		return // the arguments are checked once every template is there
	}
	if _, err := analysis.Assemble(templates, step.Args); err != nil {
		res.errs = append(res.errs, field.Invalid(path.Child("args"), step.Args, err.Error()))
	}
}

// secretRefs checks that every Secret and key that v names exists.
func (res *resolver) secretRefs(v any, path *field.Path) {
	for _, ref := range findSecretRefs(v, path) {
		s, seen := res.secrets[ref.Name]
		if !seen {
			s = &corev1.Secret{}
			if !res.get(client.ObjectKey{Namespace: res.ns, Name: ref.Name}, s) {
				s = nil
			}
			res.secrets[ref.Name] = s
		}
		switch {
		case s == nil:
			res.errs = append(res.errs, notFound(ref.path.Child("name"), ref.Name, "Secret not found in namespace "+res.ns+"; create it or fix the name"))
		case s.Data[ref.Key] == nil && s.StringData[ref.Key] == "":
			res.errs = append(res.errs, field.Invalid(ref.path.Child("key"), ref.Key, fmt.Sprintf(
				"Secret %s has no key %q (it has %d other keys)", ref.Name, ref.Key, len(s.Data))))
		}
	}
}

// notFound is field.NotFound with a word on the fix.
func notFound(path *field.Path, value, detail string) *field.Error {
	return &field.Error{Type: field.ErrorTypeNotFound, Field: path.String(), BadValue: value, Detail: detail}
}
