package rollout

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// ensureHookRun returns the named HookRun, creating it if it does not
// exist yet.
// The run is told weight as the canary's.
func (r *Reconciler) ensureHookRun(ctx context.Context, st *rolloutState, name, step string, spec rampv1.HookRunSpec, weight rampv1.Weight) (*rampv1.HookRun, error) {
	run := &rampv1.HookRun{}
	err := r.Get(ctx, client.ObjectKey{Namespace: st.ro.Namespace, Name: name}, run)
	if err == nil || !apierrors.IsNotFound(err) {
		return run, err
	}
	spec.Context.AnalysisContext, spec.Context.Step, spec.Context.Weight = runContext(st), step, weight
	rev := st.stable.hash
	if st.canary != nil {
		rev = st.canary.hash
	}
	run = &rampv1.HookRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: st.ro.Namespace,
			Labels: map[string]string{rampv1.LabelRollout: st.ro.Name, rampv1.LabelRevision: rev, rampv1.LabelRunStep: step,
				rampv1.LabelManagedBy: rampv1.ManagedBy},
		},
		Spec: spec,
	}
	if err := controllerutil.SetControllerReference(st.ro, run, r.Scheme); err != nil {
		return nil, err
	}
	if err := r.Create(ctx, run); err != nil {
		return nil, fmt.Errorf("create HookRun %s: %w", name, err)
	}
	st.news.done(run, corev1.EventTypeNormal, "HookStarted", "Test", "Started HookRun %s (step %s)", name, step)
	return run, nil
}

func hookProgress(run *rampv1.HookRun) string {
	s := &run.Status
	switch {
	case s.Phase == "":
		return "starting"
	case s.NextAttemptAt != nil:
		return fmt.Sprintf("%s: attempt %d failed, retrying", s.Target, s.AttemptCount)
	case s.Callback != nil && len(s.Attempts) > 0 && s.Attempts[len(s.Attempts)-1].FinishedAt != nil:
		return fmt.Sprintf("%s: awaiting the callback until %s", s.Target, s.Callback.ExpiresAt.UTC().Format("15:04:05Z"))
	case s.Message != "":
		return s.Target + ": " + s.Message
	}
	return s.Target
}
