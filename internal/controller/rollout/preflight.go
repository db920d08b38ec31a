package rollout

import (
	"context"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/validation"
)

// templateIndex indexes Rollouts by the analysis templates they name
// ("AnalysisTemplate/name", "ClusterAnalysisTemplate/name").
const templateIndex = ".spec.strategy.analysis.templates"

// preflight checks, before a new canary gets its first pod or any
// traffic, everything its steps will need: templates found, valid and
// given their arguments, webhook templates that render, Secrets and keys
// that exist. It runs the admission webhook's code, so that a Rollout
// applied while the webhook was down (or without it) is stopped here
// rather than at its analysis step, with traffic on the canary. A canary
// it holds (the returned error, reported as InvalidSpec) runs no step: it
// stays at weight 0 with no pod while the rest of the pass goes on, and
// its clocks stand still, as when paused. It starts on the pass after the
// fix (a template's change wakes the Rollout; a Secret is looked for
// again every configRetry). Requests are handled before: an abort is
// never held up.
func (r *Reconciler) preflight(ctx context.Context, st *rolloutState) (held *specError, err error) {
	if st.mode != modeCanary || st.canary.replicas() > 0 || ptr.Deref(st.ro.Status.CurrentStepIndex, 0) > 0 {
		return nil, nil
	}
	errs := validation.Rollout(st.ro)
	found, err := validation.Resolve(ctx, r.Client, st.ro)
	if err != nil {
		return nil, err
	}
	if errs = append(errs, found...); len(errs) == 0 {
		return nil, nil
	}
	st.held = true
	if s := &st.ro.Status; s.PausedAt == nil {
		s.PausedAt = ptr.To(metav1.NewMicroTime(st.now))
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return &specError{reason: "InvalidSpec", retry: true,
		message: "the canary waits, with no pod and no traffic, until this is fixed: " + strings.Join(msgs, "; ")}, nil
}

// templatesOf lists the analysis templates a Rollout names, for
// templateIndex.
func templatesOf(o client.Object) []string {
	ro := o.(*rampv1.Rollout)
	var steps []*rampv1.AnalysisStep
	for _, s := range ro.Spec.Strategy.Effective().Steps {
		if s.Analysis != nil {
			steps = append(steps, s.Analysis)
		}
	}
	if a := ro.Spec.Strategy.Canary.Analysis; a != nil {
		steps = append(steps, &a.AnalysisStep)
	}
	var names []string
	for _, s := range steps {
		for _, t := range s.Templates {
			kind := "AnalysisTemplate/"
			if t.ClusterScope {
				kind = "ClusterAnalysisTemplate/"
			}
			names = append(names, kind+t.TemplateName)
		}
	}
	return names
}

// rolloutsNaming maps an analysis template to the Rollouts that name it.
func (r *Reconciler) rolloutsNaming(kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list rampv1.RolloutList
		opts := []client.ListOption{client.MatchingFields{templateIndex: kind + "/" + o.GetName()}}
		if o.GetNamespace() != "" {
			opts = append(opts, client.InNamespace(o.GetNamespace()))
		}
		if err := r.List(ctx, &list, opts...); err != nil {
			log.FromContext(ctx).Error(err, "list Rollouts naming", "kind", kind, "name", o.GetName())
			return nil
		}
		reqs := make([]reconcile.Request, len(list.Items))
		for i := range list.Items {
			reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
		}
		return reqs
	}
}
