package rollout

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/strategy"
)

// runSteps takes the canary as far as its steps go in this pass: it
// observes the canary, lets its strategy decide, and carries the plan out.
func (r *Reconciler) runSteps(ctx context.Context, st *rolloutState) error {
	if st.mode != modeCanary {
		return nil
	}
	w, err := r.observeCanary(ctx, st)
	if err != nil {
		return err
	}
	return r.apply(ctx, st, strategy.Canary{}.Decide(w))
}

// observeCanary gathers what the canary's strategy decides from: the
// status, the revisions, the routing objects as read at the start of the
// pass, and the runs of the Rollout.
func (r *Reconciler) observeCanary(ctx context.Context, st *rolloutState) (strategy.World, error) {
	runs, err := r.runViews(ctx, st)
	if err != nil {
		return strategy.World{}, err
	}
	s := &st.ro.Status
	held, by := st.holds(st.canary.hash)
	pods := st.pods
	if st.inPlace != nil {
		// Run in place: the stable pods are the Deployment's to count, and
		// the canary waits for none of them.
		pods = func(weight rampv1.Weight) (int32, int32) {
			canary, _ := st.router.Replicas(st.budget.replicas, weight)
			return canary, st.stable.replicas()
		}
	}
	w := strategy.World{
		Now: st.now, Spec: &st.ro.Spec, Mesh: st.mesh, Replicas: st.budget.replicas, Replaces: st.statefulSet != nil,
		Pods:   pods,
		Canary: view(st.canary), Stable: view(st.stable),
		Status: strategy.StepStatus{Step: int(ptr.Deref(s.CurrentStepIndex, 0)), Asked: s.Weight.Asked,
			StepStartedAt: microTime(s.StepStartedAt), ProgressAt: microTime(s.ProgressAt)},
		Routing: strategy.RoutingView{
			Written: st.written, Held: held, HeldBy: revisionLabel(st, by),
			Served:      st.reading.Written != nil && st.reading.Written.Canary == st.canary.hash && st.canary.available() > 0,
			Propagation: endpointPropagation(st.ro),
			Promoted:    st.promotionWritten(),
		},
		Runs:    runs,
		RunName: func(step string) string { return runName(st, step) },
	}
	if s.PausedAt != nil {
		w.Status.PausedAt = ptr.To(s.PausedAt.Time)
	}
	if s.Routing != nil && s.Routing.CanaryServedAt != nil {
		w.Routing.ServedAt = ptr.To(s.Routing.CanaryServedAt.Time)
	}
	return w, nil
}

func view(rev *revision) strategy.RevisionView {
	return strategy.RevisionView{Hash: rev.hash, Number: rev.number, Replicas: rev.replicas(), Pods: rev.pods(),
		Available: rev.available(), Settled: rev.settled()}
}

func microTime(t *metav1.MicroTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// runViews reads the Rollout's AnalysisRuns and HookRuns, by name.
func (r *Reconciler) runViews(ctx context.Context, st *rolloutState) (map[string]strategy.RunView, error) {
	owned := []client.ListOption{client.InNamespace(st.ro.Namespace), client.MatchingLabels{rampv1.LabelRollout: st.ro.Name}}
	var analyses rampv1.AnalysisRunList
	if err := r.List(ctx, &analyses, owned...); err != nil {
		return nil, err
	}
	var hooks rampv1.HookRunList
	if err := r.List(ctx, &hooks, owned...); err != nil {
		return nil, err
	}
	runs := make(map[string]strategy.RunView, len(analyses.Items)+len(hooks.Items))
	for i := range analyses.Items {
		run := &analyses.Items[i]
		runs[run.Name] = strategy.RunView{Phase: string(run.Status.Phase), Message: run.Status.Message, Progress: runProgress(run)}
	}
	for i := range hooks.Items {
		run := &hooks.Items[i]
		runs[run.Name] = strategy.RunView{Phase: string(run.Status.Phase), Message: run.Status.Message, Progress: hookProgress(run), Target: run.Status.Target}
	}
	return runs, nil
}

// apply carries a plan out, in order, and records what the canary then
// waits for.
func (r *Reconciler) apply(ctx context.Context, st *rolloutState, p strategy.Plan) error {
	st.weight, st.plan = p.Weight, p
	if p.Requeue > 0 {
		st.requeueAfter(p.Requeue)
	}
	s := &st.ro.Status
	for _, a := range p.Actions {
		var err error
		switch a := a.(type) {
		case strategy.StopClocks:
			s.PausedAt = ptr.To(metav1.NewMicroTime(st.now))
		case strategy.ResumeClocks:
			resumeClocks(s, st.now)
		case strategy.StartRun:
			if a.Analysis != nil {
				_, err = r.ensureRun(ctx, st, a.Name, a.Analysis, a.Background)
			} else {
				_, err = r.ensureHookRun(ctx, st, a.Name, a.Step, *a.Hook, a.Weight)
			}
		case strategy.Route:
			_, err = r.route(ctx, st, a.Target)
			st.routed = true
		case strategy.SetServedAt:
			s.Routing = nil
			if a.At != nil {
				s.Routing = &rampv1.RoutingStatus{CanaryServedAt: ptr.To(metav1.NewMicroTime(*a.At))}
			}
		case strategy.Approximated:
			st.news.decided(corev1.EventTypeWarning, "WeightApproximated", "SetWeight",
				"Asked %s%% for the canary; %d canary and %d stable pods give it %s%%", a.Asked, a.CanaryPods, a.StablePods, a.Reached)
		case strategy.EndStep:
			r.nextStep(st, a.Outcome, a.Why)
		case strategy.Abort:
			r.abort(st, a.Reason, a.Message)
		case strategy.Promote:
			// The AfterPromotion hooks' runs exist before the promotion
			// is recorded, so that a pass interrupted in between starts
			// them anyway.
			if err = r.startHooks(ctx, st, rampv1.AfterPromotion); err == nil {
				r.promote(st)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
