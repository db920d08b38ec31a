// Package validation finds the mistakes in Ramp's objects that their
// schemas cannot: a selector that misses its pod template, a condition
// that is not CEL, a webhook template naming a value no canary gives, a
// template or Secret that does not exist. Admission, `ramp lint` and the
// controller's preflight run this same code, so that each refuses the same
// mistakes with the same words.
package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis/providers"
	"github.com/rampcd/ramp/internal/hooks"
)

// Rollout checks what needs nothing but the Rollout itself: its selector
// against its pod template, and every webhook's URL and body templates.
func Rollout(ro *rampv1.Rollout) field.ErrorList {
	spec := field.NewPath("spec")
	errs := Selector(ro.Spec.Selector, ro.Spec.Template, spec.Child("template", "metadata", "labels"))
	for _, l := range stepLists(ro) {
		for i, s := range l.steps {
			if s.Webhook != nil {
				errs = append(errs, webhook(s.Webhook, l.path.Index(i).Child("webhook"))...)
			}
		}
	}
	canary := spec.Child("strategy", "canary")
	for i, h := range ro.Spec.Strategy.Canary.Hooks {
		if h.Webhook != nil {
			errs = append(errs, webhook(h.Webhook, canary.Child("hooks").Index(i).Child("webhook"))...)
		}
	}
	n, path := ro.Spec.Strategy.Canary.Notifications, canary.Child("notifications")
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		n, path = bg.Notifications, spec.Child("strategy", "blueGreen", "notifications")
	}
	if n != nil {
		errs = append(errs, webhook(&rampv1.WebhookHook{URL: n.URL, Body: n.Body}, path)...)
	}
	return errs
}

// AnalysisTemplate checks an AnalysisTemplate's or a
// ClusterAnalysisTemplate's spec: conditions that are not CEL, query
// templates that do not parse or name a value no run gives.
func AnalysisTemplate(spec *rampv1.AnalysisTemplateSpec) field.ErrorList {
	return providers.Validate(spec, field.NewPath("spec"))
}

// Selector checks that a selector is valid, selects something, and selects
// the pods of tmpl (when there is one: an adopted Deployment's template is
// checked where the Deployment is read). labelsPath names the labels.
func Selector(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, labelsPath *field.Path) field.ErrorList {
	path := field.NewPath("spec", "selector")
	selector, err := metav1.LabelSelectorAsSelector(sel)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(path, sel, err.Error())}
	case selector.Empty():
		return field.ErrorList{field.Required(path.Child("matchLabels"),
			"an empty selector would select every pod of the namespace: select the pod template's labels")}
	case tmpl != nil && !selector.Matches(labels.Set(tmpl.Labels)):
		return field.ErrorList{field.Invalid(labelsPath, tmpl.Labels, fmt.Sprintf(
			"spec.selector (%s) does not select these labels, so the Rollout would never count its own pods; make the selector match the pod labels", selector))}
	}
	return nil
}

// webhook checks a webhook's templates.
func webhook(h *rampv1.WebhookHook, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if err := hooks.Check("url", h.URL); err != nil {
		errs = append(errs, field.Invalid(path.Child("url"), h.URL, err.Error()+valuesHint))
	}
	if h.Body != "" {
		if err := hooks.Check("body", h.Body); err != nil {
			errs = append(errs, field.Invalid(path.Child("body"), h.Body, err.Error()+valuesHint))
		}
	}
	return errs
}

const valuesHint = " (values: Rollout, Namespace, StableRevision, CanaryRevision, StableService, CanaryService, Step, Weight, CallbackURL, Phase, Message)"

// stepList is one list of steps and where it is in the spec.
type stepList struct {
	path  *field.Path
	steps []rampv1.Step
}

// stepLists are the Rollout's steps as the user wrote them: a canary's, or
// a blue/green's before and after promotion.
func stepLists(ro *rampv1.Rollout) []stepList {
	strategy := field.NewPath("spec", "strategy")
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		p := strategy.Child("blueGreen")
		return []stepList{{p.Child("prePromotion"), bg.PrePromotion}, {p.Child("postPromotion"), bg.PostPromotion}}
	}
	return []stepList{{strategy.Child("canary", "steps"), ro.Spec.Strategy.Canary.Steps}}
}
