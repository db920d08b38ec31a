package rollout

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// summarize writes what this pass saw and decided into status: pod counts,
// weights, step, conditions, and the phase derived from them.
func (r *Reconciler) summarize(ctx context.Context, st *rolloutState) error {
	ro, s := st.ro, &st.ro.Status
	s.ObservedGeneration = ro.Generation
	if sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector); err == nil {
		s.Selector = sel.String()
	}
	s.Replicas, s.ReadyReplicas, s.AvailableReplicas = 0, 0, 0
	for _, rev := range st.revs {
		s.Replicas += rev.pods()
		s.ReadyReplicas += rev.ready()
		s.AvailableReplicas += rev.available()
	}
	if st.stable.external {
		// Run in place: the Deployment's pods of the stable revision
		// count; its other pods are its own rollout's, held or underway.
		s.Replicas += st.stable.pods()
		s.ReadyReplicas += st.stable.ready()
		s.AvailableReplicas += st.stable.available()
	}
	if st.canary != nil && st.canary.external {
		// A StatefulSet's canary: its pods above the partition.
		s.Replicas += st.canary.pods()
		s.ReadyReplicas += st.canary.ready()
		s.AvailableReplicas += st.canary.available()
	}
	s.UpdatedReplicas, s.UpdatedAvailableReplicas = st.current.pods(), st.current.available()

	s.Weight = rampv1.WeightStatus{}
	s.StepLabel = ""
	if st.canary != nil {
		reached, err := r.reachedWeight(ctx, st)
		if err != nil {
			return err
		}
		s.Weight = rampv1.WeightStatus{Asked: st.weight, Reached: reached}
		if st.mode == modeAborted {
			s.Weight.Asked = 0
		}
		s.StepLabel = fmt.Sprintf("%d/%d", min(int(*s.CurrentStepIndex)+1, len(st.steps())), len(st.steps()))
	}
	// The key of a notification is the state it leaves: the conditions
	// as the last pass recorded them.
	from, fromMessage, key := s.Phase, s.Message, conditionsKey(s.Conditions)
	setConditions(st)
	workloadCondition(st)
	s.Phase, s.Message = phase(st)
	if err := r.notify(ctx, st, from, key); err != nil {
		// Not notified: leave the phase as it was, so that the next pass
		// sees the change again.
		s.Phase, s.Message = from, fromMessage
		return err
	}
	return nil
}

// reachedWeight is the weight the canary receives: from the routing
// objects with a mesh router, from the available pods with pod ratio.
func (r *Reconciler) reachedWeight(ctx context.Context, st *rolloutState) (rampv1.Weight, error) {
	if st.mesh {
		return st.reached, nil
	}
	return traffic.PodShare(traffic.Pods{Stable: st.stable.available(), Canary: st.canary.available()}), nil
}

// setConditions sets the four conditions from the pass's picture.
func setConditions(st *rolloutState) {
	ro, s := st.ro, &st.ro.Status
	set := func(typ string, ok bool, reason, msg string) {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: ro.Generation,
		})
	}

	stableFull := st.stable.available() >= st.budget.replicas && st.stable.replicas() == st.budget.replicas
	switch {
	case st.mode == modeStable && stableFull:
		set(rampv1.ConditionReady, true, "StableAvailable", fmt.Sprintf(
			"revision %d has %d/%d pods available", st.stable.number, st.stable.available(), st.budget.replicas))
	case st.mode == modeStable:
		set(rampv1.ConditionReady, false, "Scaling", fmt.Sprintf(
			"revision %d has %d/%d pods available", st.stable.number, st.stable.available(), st.budget.replicas))
	case st.mode == modeAborted:
		set(rampv1.ConditionReady, false, "RolledBack", fmt.Sprintf("canary of revision %d rolled back", st.canary.number))
	default:
		set(rampv1.ConditionReady, false, "CanaryInProgress", fmt.Sprintf("canary of revision %d in progress", st.canary.number))
	}

	if st.mode == modeAborted {
		set(rampv1.ConditionDegraded, true, s.Abort.Reason, s.Abort.Message)
	} else {
		set(rampv1.ConditionDegraded, false, "NotRolledBack", "no rollback in effect")
	}

	switch {
	case st.mode == modeCanary && ro.Spec.Paused:
		set(rampv1.ConditionPaused, true, "PausedBySpec", "spec.paused is true; set it to false to resume")
	case st.plan.PauseStep && st.plan.VerdictWait:
		set(rampv1.ConditionPaused, true, "AnalysisInconclusive", fmt.Sprintf("step %s waits for %s", s.StepLabel, st.plan.Waiting))
	case st.plan.PauseStep:
		set(rampv1.ConditionPaused, true, "PauseStep", fmt.Sprintf("step %s waits for promotion", s.StepLabel))
	case st.plan.PausedUntil != nil:
		set(rampv1.ConditionPaused, true, "PauseStep", "step "+s.StepLabel+" pauses until "+st.plan.PausedUntil.UTC().Format(time.RFC3339))
	default:
		set(rampv1.ConditionPaused, false, "NotPaused", "not paused")
	}

	switch {
	case st.mode == modeCanary && st.plan.Promoting:
		set(rampv1.ConditionProgressing, true, "Promoting", "all steps passed; waiting for "+st.plan.Waiting)
	case st.mode == modeCanary:
		step := "promotion"
		if i := int(*s.CurrentStepIndex); i < len(st.steps()) {
			step = st.steps()[i].Summary()
		}
		set(rampv1.ConditionProgressing, true, "CanaryInProgress", fmt.Sprintf(
			"step %s (%s): waiting for %s", s.StepLabel, step, st.plan.Waiting))
	case st.mode == modeAborted && st.draining == st.canary.hash && st.canary.pods() > 0:
		set(rampv1.ConditionProgressing, true, "RollingBack", fmt.Sprintf(
			"canary weight 0; its %d pods stay until every proxy has dropped them (abortScaleDownDelaySeconds); stable %d/%d available",
			st.canary.pods(), st.stable.available(), st.budget.replicas))
	case st.mode == modeAborted && (st.canary.pods() > 0 || !stableFull):
		set(rampv1.ConditionProgressing, true, "RollingBack", fmt.Sprintf(
			"canary pods %d, stable %d/%d available", st.canary.pods(), st.stable.available(), st.budget.replicas))
	case !stableFull || oldPods(st) > 0:
		set(rampv1.ConditionProgressing, true, "Scaling", fmt.Sprintf(
			"stable %d of %d pods available; old revisions have %d pods left", st.stable.available(), st.budget.replicas, oldPods(st)))
	case st.draining != "":
		set(rampv1.ConditionProgressing, true, "Draining", fmt.Sprintf(
			"the canary Service keeps %s until every proxy has applied its weight 0 (abortScaleDownDelaySeconds)", revisionLabel(st, st.draining)))
	case st.inPlace != nil && !st.stable.external:
		set(rampv1.ConditionProgressing, true, "HandingOver", fmt.Sprintf(
			"revision %d is promoted: Ramp's pods serve it until Deployment %s has rolled it out (%d of %d pods updated, %d available)",
			st.stable.number, st.inPlace.Name, st.inPlace.Status.UpdatedReplicas, st.budget.replicas, st.inPlace.Status.AvailableReplicas))
	case st.mesh && !st.atRest:
		set(rampv1.ConditionProgressing, true, "Settling",
			"the routing objects go back to rest once every proxy has dropped the old pods (endpointPropagationSeconds)")
	default:
		set(rampv1.ConditionProgressing, false, "Complete", "nothing to do")
	}
	setKstatus(st.ro, st.mode == modeAborted)
}

// setKstatus sets Reconciling and Stalled, the conditions kstatus, Flux
// and Argo CD's health read, from the four above. A rolled-back canary is
// Stalled at once, while its pods still go: the verdict is in, and a
// GitOps tool waiting on the Rollout should hear it without waiting for
// the clean-up. A paused canary still reconciles: it waits for a
// promotion or a clock, not for someone to fix something.
func setKstatus(ro *rampv1.Rollout, rolledBack bool) {
	conds := &ro.Status.Conditions
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(conds, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: ro.Generation,
		})
	}
	progressing := meta.FindStatusCondition(*conds, rampv1.ConditionProgressing)
	paused := meta.FindStatusCondition(*conds, rampv1.ConditionPaused)
	switch {
	case rolledBack:
		set(rampv1.ConditionReconciling, metav1.ConditionFalse, "RolledBack",
			"nothing more is rolled out until the template changes or the canary is retried")
	case paused != nil && paused.Status == metav1.ConditionTrue:
		set(rampv1.ConditionReconciling, metav1.ConditionTrue, paused.Reason, paused.Message)
	case progressing != nil && progressing.Status == metav1.ConditionTrue:
		set(rampv1.ConditionReconciling, metav1.ConditionTrue, progressing.Reason, progressing.Message)
	default:
		set(rampv1.ConditionReconciling, metav1.ConditionFalse, "Reconciled", "the Rollout runs its spec")
	}
	if degraded := meta.FindStatusCondition(*conds, rampv1.ConditionDegraded); rolledBack && degraded != nil {
		set(rampv1.ConditionStalled, metav1.ConditionTrue, degraded.Reason, degraded.Message)
	} else {
		set(rampv1.ConditionStalled, metav1.ConditionFalse, "NotStalled", "nothing stops the Rollout")
	}
}

// oldPods counts the pods of revisions that are neither stable nor canary.
func oldPods(st *rolloutState) int32 {
	var n int32
	if set := st.statefulSet; set != nil {
		// Its pods the stable revision and the canary do not count (see
		// statefulSetRevisions).
		n = int32(len(set.pods)) - st.stable.pods()
		if st.canary != nil {
			n -= st.canary.pods()
		}
	}
	for _, rev := range st.revs {
		if rev != st.stable && rev != st.canary {
			n += rev.pods()
		}
	}
	return n
}

// phase derives the phase people see from the conditions: a rollback
// outranks a pause, which outranks progress.
func phase(st *rolloutState) (rampv1.Phase, string) {
	conds := st.ro.Status.Conditions
	for _, c := range []struct {
		typ   string
		phase rampv1.Phase
	}{
		{rampv1.ConditionDegraded, rampv1.PhaseDegraded},
		{rampv1.ConditionPaused, rampv1.PhasePaused},
		{rampv1.ConditionProgressing, rampv1.PhaseProgressing},
	} {
		if cond := meta.FindStatusCondition(conds, c.typ); cond != nil && cond.Status == metav1.ConditionTrue {
			return c.phase, cond.Message
		}
	}
	if meta.IsStatusConditionTrue(conds, rampv1.ConditionReady) {
		return rampv1.PhaseHealthy, meta.FindStatusCondition(conds, rampv1.ConditionReady).Message
	}
	return rampv1.PhaseProgressing, meta.FindStatusCondition(conds, rampv1.ConditionReady).Message
}
