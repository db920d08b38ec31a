// Package admission is Ramp's validating admission webhook: it refuses
// Rollouts and analysis templates whose mistakes the CRDs' schemas cannot
// see (package validation), and warns of what they name that does not
// exist yet. It runs on every replica, with certificates it keeps itself
// (Certs) or that are given to it.
package admission

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/validation"
)

// Paths the webhooks are served at.
const (
	PathRollout                 = "/validate-rollout"
	PathAnalysisTemplate        = "/validate-analysistemplate"
	PathClusterAnalysisTemplate = "/validate-clusteranalysistemplate"
)

// rollouts validates Rollouts; reader reads what they name, for warnings,
// directly: a standby replica's cache has no informer for them yet, and
// starting one would outlast the API server's timeout on a large cluster.
type rollouts struct {
	reader client.Reader
	mapper meta.RESTMapper
}

func (v rollouts) ValidateCreate(ctx context.Context, ro *rampv1.Rollout) (admission.Warnings, error) {
	return v.validate(ctx, nil, ro)
}

func (v rollouts) ValidateUpdate(ctx context.Context, old, ro *rampv1.Rollout) (admission.Warnings, error) {
	return v.validate(ctx, old, ro)
}

func (rollouts) ValidateDelete(context.Context, *rampv1.Rollout) (admission.Warnings, error) {
	return nil, nil
}

// validate refuses the mistakes a change brings; those the object had
// already are warned of, so that a change that fixes one thing (or rolls
// back) is never refused for another it did not touch. What the Rollout
// names and the cluster lacks is a warning too: GitOps tools apply in
// any order.
func (v rollouts) validate(ctx context.Context, old, ro *rampv1.Rollout) (admission.Warnings, error) {
	errs := validation.Rollout(ro)
	var warnings admission.Warnings
	if old != nil {
		errs, warnings = ratchet(errs, validation.Rollout(old))
	}
	resolved, err := validation.Resolve(ctx, v.reader, ro)
	routing, routingErr := validation.Routing(ctx, v.reader, v.mapper, ro)
	for _, e := range append(resolved, routing...) {
		warnings = append(warnings, e.Error())
	}
	if err := errors.Join(err, routingErr); err != nil {
		warnings = append(warnings, "what the Rollout names could not all be checked: "+err.Error())
	}
	return warnings, invalid("Rollout", ro.Name, errs)
}

// templates validates AnalysisTemplates and ClusterAnalysisTemplates.
type templates[T interface {
	*rampv1.AnalysisTemplate | *rampv1.ClusterAnalysisTemplate
	client.Object
}] struct {
	kind string
	spec func(T) *rampv1.AnalysisTemplateSpec
}

func (v templates[T]) ValidateCreate(_ context.Context, t T) (admission.Warnings, error) {
	return nil, invalid(v.kind, t.GetName(), validation.AnalysisTemplate(v.spec(t)))
}

func (v templates[T]) ValidateUpdate(_ context.Context, old, t T) (admission.Warnings, error) {
	errs, warnings := ratchet(validation.AnalysisTemplate(v.spec(t)), validation.AnalysisTemplate(v.spec(old)))
	return warnings, invalid(v.kind, t.GetName(), errs)
}

func (templates[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) { return nil, nil }

// ratchet splits errs into those that old did not have (refused) and
// those it had (warned of).
func ratchet(errs, old field.ErrorList) (field.ErrorList, admission.Warnings) {
	had := map[string]bool{}
	for _, e := range old {
		had[e.Error()] = true
	}
	var refused field.ErrorList
	var warnings admission.Warnings
	for _, e := range errs {
		if had[e.Error()] {
			warnings = append(warnings, "not refused, as it was so before this change: "+e.Error())
			continue
		}
		refused = append(refused, e)
	}
	return refused, warnings
}

// invalid is the API server's own form of a refusal, which kubectl shows
// field by field.
func invalid(kind, name string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{Group: rampv1.GroupVersion.Group, Kind: kind}, name, errs)
}
