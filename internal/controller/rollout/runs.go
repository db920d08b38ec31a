package rollout

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/strategy"
)

// settleRuns ends what no longer needs running: AnalysisRuns and HookRuns
// of canaries that are over (promoted, rolled back, replaced) are
// terminated, and finished runs beyond their history limit, oldest first,
// are deleted. Runs of the canary in flight are kept.
func (r *Reconciler) settleRuns(ctx context.Context, st *rolloutState) error {
	var analyses rampv1.AnalysisRunList
	if err := r.List(ctx, &analyses, client.InNamespace(st.ro.Namespace), client.MatchingLabels{rampv1.LabelRollout: st.ro.Name}); err != nil {
		return err
	}
	err := settle(ctx, r, st, "AnalysisRun", ptrs(analyses.Items), int(ptr.Deref(st.ro.Spec.AnalysisRunHistoryLimit, 5)),
		func(run *rampv1.AnalysisRun) bool { return run.Status.Phase.Done() },
		func(run *rampv1.AnalysisRun) bool { return run.Spec.Terminate },
		func(run *rampv1.AnalysisRun) { run.Spec.Terminate = true })
	if err != nil {
		return err
	}
	var list rampv1.HookRunList
	if err := r.List(ctx, &list, client.InNamespace(st.ro.Namespace), client.MatchingLabels{rampv1.LabelRollout: st.ro.Name}); err != nil {
		return err
	}
	// Notifications have a history of their own, so that they never push
	// out the runs of tests (and the failed Jobs kept for their logs).
	var tests, notifications []*rampv1.HookRun
	for _, run := range ptrs(list.Items) {
		if run.Labels[rampv1.LabelRunStep] == notificationStep {
			notifications = append(notifications, run)
		} else {
			tests = append(tests, run)
		}
	}
	limit := int(ptr.Deref(st.ro.Spec.HookRunHistoryLimit, 5))
	for kind, runs := range map[string][]*rampv1.HookRun{"HookRun": tests, "notification HookRun": notifications} {
		err := settle(ctx, r, st, kind, runs, limit,
			func(run *rampv1.HookRun) bool { return run.Status.Phase.Done() },
			func(run *rampv1.HookRun) bool { return run.Spec.Terminate || detached(run) },
			func(run *rampv1.HookRun) { run.Spec.Terminate = true })
		if err != nil {
			return err
		}
	}
	return nil
}

// settle does settleRuns' work for one kind of run.
func settle[T client.Object](ctx context.Context, r *Reconciler, st *rolloutState, kind string, runs []T, limit int,
	done, terminating func(T) bool, terminate func(T)) error {
	// live runs are those the canary in flight still waits on; current
	// ones are all the runs of its present attempt, kept from pruning.
	live := func(run T) bool {
		return st.mode == modeCanary && (run.GetName() == runName(st, strategy.BackgroundStep) || isCurrentStepRun(st, run) ||
			(*st.ro.Status.CurrentStepIndex == 0 && strings.HasPrefix(run.GetName(), runName(st, "before-canary-"))))
	}
	current := func(run T) bool {
		return st.canary != nil && strings.HasPrefix(run.GetName(), strings.TrimSuffix(runName(st, ""), "-")+"-")
	}
	var finished []T
	for _, run := range runs {
		if !metav1.IsControlledBy(run, st.ro) {
			continue
		}
		if !done(run) && !terminating(run) && !live(run) {
			orig := run.DeepCopyObject().(T)
			terminate(run)
			if err := r.Patch(ctx, run, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("terminate %s %s: %w", kind, run.GetName(), err)
			}
			continue
		}
		if done(run) && !current(run) {
			finished = append(finished, run)
		}
	}
	slices.SortFunc(finished, func(a, b T) int {
		return a.GetCreationTimestamp().Compare(b.GetCreationTimestamp().Time)
	})
	for len(finished) > limit {
		if err := r.Delete(ctx, finished[0], client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("prune %s %s: %w", kind, finished[0].GetName(), err)
		}
		finished = finished[1:]
	}
	return nil
}

// isCurrentStepRun reports whether run belongs to the step the canary is
// at.
func isCurrentStepRun(st *rolloutState, run client.Object) bool {
	i := int(*st.ro.Status.CurrentStepIndex)
	return i < len(st.steps()) && run.GetName() == runName(st, "step-"+strconv.Itoa(i))
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
