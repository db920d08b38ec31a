package rollout

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// A Deployment run in place (spec.workloadRef.mode InPlace).
//
// The Deployment keeps serving the stable version: its ReplicaSet that
// runs the stable template is the stable revision, read and never
// written (revision.external), and its replicas are the Rollout's. Its
// pods carry no revision label of Ramp's, so routers select them by the
// pod-template-hash the Deployment gave them (traffic.Target.StableLabels).
//
// A new template is held: the admission webhook pauses the Deployment in
// the same write (internal/admission), or, if it did not answer, the
// controller as soon as it sees the change (holdWorkload). The canary runs
// in a ReplicaSet of Ramp's, beside the Deployment's pods, as in any mesh
// canary. Its promotion points the stable side at the canary's pods, and
// scaleDownDelaySeconds later, when no proxy sends the Deployment's old
// pods a request, Ramp unpauses the Deployment. Until the Deployment has
// rolled its new template out, Ramp's ReplicaSet stays the stable revision
// (the hand over); then the stable side moves to the Deployment's new pods
// and Ramp's ReplicaSet retires as an old stable revision does.

// podTemplateHashLabel is the label by which the Deployment controller
// tells its ReplicaSets' pods apart.
const podTemplateHashLabel = "pod-template-hash"

// workloadRevision finds the stable revision of a Deployment run in place,
// recording it in status on the first pass. While a promoted template is
// handed over, it is Ramp's ReplicaSet of that template.
//
// The hand over ends endpointPropagationSeconds after the Deployment has
// rolled the template out (status.workload.rolledOutAt), so that the
// proxies know its new pods before the routing selects them; wait is how
// long it still takes.
func (r *Reconciler) workloadRevision(ctx context.Context, ro *rampv1.Rollout, n *news, dep *appsv1.Deployment, revs []*revision) (stable *revision, wait time.Duration, err error) {
	rss, err := r.deploymentReplicaSets(ctx, dep)
	if err != nil {
		return nil, 0, err
	}
	s := &ro.Status
	hashOf := func(rs *appsv1.ReplicaSet) string {
		t := rs.Spec.Template.DeepCopy()
		delete(t.Labels, podTemplateHashLabel)
		return rampv1.TemplateHash(t, s.CollisionCount)
	}
	if s.StableRevision == "" {
		// The first pass: the stable version is what the Deployment runs,
		// once it runs one template everywhere. Mid-rollout (its own, or
		// paused by someone), which pods are stable is for its owner to
		// settle: taking it over then would leave the stable version short
		// of pods for the whole canary.
		if !rolledOut(dep) {
			return nil, 0, &specError{reason: "WorkloadNotSettled", retry: true, message: fmt.Sprintf(
				"spec.workloadRef: Deployment %s is rolling out a new template (or paused in the middle of one: %d of %d pods updated, %d available); Ramp runs it in place once every pod runs one template: let its rollout finish, or revert its template",
				dep.Name, dep.Status.UpdatedReplicas, ptr.Deref(dep.Spec.Replicas, 1), dep.Status.AvailableReplicas)}
		}
		s.StableRevision = rampv1.TemplateHash(&dep.Spec.Template, s.CollisionCount)
	}
	var ext *revision
	for _, rs := range rss {
		if hashOf(rs) == s.StableRevision { // one at most: the Deployment's ReplicaSets differ in template
			ext = &revision{rs: rs, hash: s.StableRevision, external: true}
			break
		}
	}
	own := findRevision(revs, s.StableRevision)
	replicas := ptr.Deref(dep.Spec.Replicas, 1)
	if own != nil && s.Workload != nil && s.Workload.PromotedAt != nil { // handing over
		w := s.Workload
		if ext == nil || ext.replicas() != replicas || ext.available() < replicas {
			w.RolledOutAt = nil
			return own, 0, nil
		}
		now := r.Clock.Now()
		if w.RolledOutAt == nil {
			w.RolledOutAt = ptr.To(metav1.NewMicroTime(now))
		}
		if wait := w.RolledOutAt.Add(endpointPropagation(ro)).Sub(now); wait > 0 {
			return own, wait, nil
		}
		// Handed over, for good: a dip in the Deployment's availability
		// later must not bring Ramp's retiring pods back.
		w.PromotedAt, w.RolledOutAt = nil, nil
	}
	if ext != nil {
		if own != nil {
			ext.number = own.number // so that Ramp's retires as an old stable revision
		}
		return ext, 0, nil
	}
	// The Deployment no longer has the stable template's ReplicaSet
	// (deleted by hand, or rolled out and pruned while Ramp was away).
	rs := mostAvailable(rss)
	if rs == nil {
		return nil, 0, &specError{reason: "WorkloadNotServing", retry: true, message: fmt.Sprintf(
			"spec.workloadRef: Deployment %s has no ReplicaSet yet; Ramp runs it in place once the Deployment controller has made one", dep.Name)}
	}
	n.decided(corev1.EventTypeWarning, "StableRevisionMissing", "Recover",
		"Deployment %s no longer runs stable revision %s; its ReplicaSet %s becomes stable", dep.Name, s.StableRevision, rs.Name)
	s.StableRevision = hashOf(rs)
	return &revision{rs: rs, hash: s.StableRevision, external: true}, 0, nil
}

// deploymentReplicaSets lists the ReplicaSets dep controls.
func (r *Reconciler) deploymentReplicaSets(ctx context.Context, dep *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, err
	}
	var list appsv1.ReplicaSetList
	if err := r.List(ctx, &list, client.InNamespace(dep.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		if rs := &list.Items[i]; metav1.IsControlledBy(rs, dep) && rs.DeletionTimestamp == nil {
			out = append(out, rs)
		}
	}
	return out, nil
}

func mostAvailable(rss []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	var best *appsv1.ReplicaSet
	for _, rs := range rss {
		if best == nil || rs.Status.AvailableReplicas > best.Status.AvailableReplicas {
			best = rs
		}
	}
	return best
}

// rolledOut reports whether the Deployment runs its template on every pod,
// all available, and nothing else.
func rolledOut(dep *appsv1.Deployment) bool {
	n := ptr.Deref(dep.Spec.Replicas, 1)
	return available(dep, n) && dep.Status.UpdatedReplicas == n && dep.Status.Replicas == n
}

// templateHeld reports whether a workload's template is other than the
// Rollout's stable revision: one Ramp has not promoted.
func templateHeld(ro *rampv1.Rollout, tmpl *corev1.PodTemplateSpec) bool {
	return rampv1.TemplateHash(tmpl, ro.Status.CollisionCount) != ro.Status.StableRevision
}

// holdWorkload keeps a Deployment run in place paused while its template
// is not the stable one, and unpauses it once it is again: reverted, or
// promoted and scaleDownDelaySeconds past the promotion.
func (r *Reconciler) holdWorkload(ctx context.Context, st *rolloutState) error {
	dep := st.inPlace
	if dep == nil {
		return nil
	}
	s := &st.ro.Status
	if s.Workload == nil {
		s.Workload = &rampv1.WorkloadStatus{}
	}
	w := s.Workload
	held := st.current != st.stable // the Deployment's template is not the stable one
	switch {
	case held && !dep.Spec.Paused:
		if err := r.setPaused(ctx, dep, true); err != nil {
			return err
		}
		w.Paused = true
		// Pods of other templates than the stable one: a change the
		// webhook did not hold, which the Deployment had begun to roll.
		if started := dep.Status.Replicas - st.stable.pods(); started > 0 {
			st.news.done(dep, corev1.EventTypeWarning, "WorkloadRolloutCaught", "Hold",
				"Deployment %s's template changed while Ramp's admission webhook did not answer, and it had started %d pods of it before Ramp paused it; they get no traffic from the routes, and the canary runs as usual", dep.Name, started)
		} else {
			st.news.done(dep, corev1.EventTypeNormal, "WorkloadPaused", "Hold",
				"Deployment %s paused: its new template runs as a canary first", dep.Name)
		}
	case held:
		w.Paused = true // by the admission webhook, in the write that changed it
	case dep.Spec.Paused && w.Paused:
		if wait := resumeDue(st.ro, st.stable, st.now); wait > 0 {
			st.requeueAfter(wait)
			return nil
		}
		if err := r.setPaused(ctx, dep, false); err != nil {
			return err
		}
		if dep.Spec.Paused {
			// The webhook paused it again in the same write: its view of
			// the stable revision is the stored status, which this pass
			// may change. The next pass tries again.
			st.requeueAfter(time.Second)
			return nil
		}
		w.Paused = false
		st.news.done(dep, corev1.EventTypeNormal, "WorkloadResumed", "Resume",
			"Deployment %s resumed: its template is stable revision %d", dep.Name, st.stable.number)
	default:
		w.Paused = false // someone else's pause, or none
	}
	return nil
}

// resumeDue returns how long a promoted template still waits before the
// Deployment rolls it out: until scaleDownDelaySeconds after the
// promotion, when proxies no longer send its old pods a request.
func resumeDue(ro *rampv1.Rollout, stable *revision, now time.Time) time.Duration {
	if stable.external {
		return 0 // a revert: the Deployment has nothing to roll
	}
	return sincePromotion(ro, now)
}

// sincePromotion returns how long it still is until scaleDownDelaySeconds
// after an in-place promotion (status.workload.promotedAt); 0 with none.
func sincePromotion(ro *rampv1.Rollout, now time.Time) time.Duration {
	w := ro.Status.Workload
	if w == nil || w.PromotedAt == nil {
		return 0
	}
	delay := time.Duration(ptr.Deref(ro.Spec.Strategy.Canary.ScaleDownDelaySeconds, 30)) * time.Second
	return w.PromotedAt.Add(delay).Sub(now)
}

// setPaused writes the Deployment's spec.paused, and nothing else.
func (r *Reconciler) setPaused(ctx context.Context, dep *appsv1.Deployment, paused bool) error {
	orig := dep.DeepCopy()
	dep.Spec.Paused = paused
	if err := r.Patch(ctx, dep, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("set Deployment %s paused=%t: %w", dep.Name, paused, err)
	}
	return nil
}

// workloadCondition says whether Ramp holds the workload's rollout (a
// Deployment's spec.paused, a StatefulSet's partition), and after a
// rollback, how to go on.
func workloadCondition(st *rolloutState) {
	s := &st.ro.Status
	var name, held string
	switch {
	case st.inPlace != nil:
		name, held = "Deployment "+st.inPlace.Name, "paused"
	case st.statefulSet != nil:
		name, held = "StatefulSet "+st.statefulSet.sts.Name, "held by its partition"
	default:
		meta.RemoveStatusCondition(&s.Conditions, rampv1.ConditionWorkloadPaused)
		return
	}
	c := metav1.Condition{Type: rampv1.ConditionWorkloadPaused, Status: metav1.ConditionFalse, Reason: "Serving",
		Message: fmt.Sprintf("%s runs its template, stable revision %s", name, s.StableRevision), ObservedGeneration: st.ro.Generation}
	switch {
	case s.Workload == nil || !s.Workload.Paused:
	case st.mode == modeAborted:
		c.Status, c.Reason = metav1.ConditionTrue, "CanaryRolledBack"
		c.Message = fmt.Sprintf("%s stays %s at the template of revision %d, which was rolled back; revert its template to resume it with nothing to roll, or retry the canary (ramp retry %s)",
			name, held, st.canary.number, st.ro.Name)
	case st.mode == modeCanary:
		c.Status, c.Reason = metav1.ConditionTrue, "CanaryRunning"
		c.Message = fmt.Sprintf("%s is %s while its new template runs as canary revision %d", name, held, st.canary.number)
	default:
		c.Status, c.Reason = metav1.ConditionTrue, "Promoted"
		c.Message = fmt.Sprintf("%s is %s until scaleDownDelaySeconds after the promotion, then rolls its template out while revision %d's pods serve", name, held, st.stable.number)
	}
	meta.SetStatusCondition(&s.Conditions, c)
}
