package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Deleting a Rollout that runs its Deployment in place.
//
// The Deployment's pods serve the stable version all along, so the
// deletion sends all traffic back to them, removes the canary once no
// proxy sends it a request (the route applied, and the Services' endpoints
// propagated), waits endpointPropagationSeconds for the
// proxies to drop its pods from the root Service's endpoints too, gives
// the routing back to the root Service (finalize), and only then unpauses
// the Deployment: it then rolls out the template it holds on its own, as
// it would have without Ramp (a warning says so when that template was
// not promoted).
//
// Mid hand over (a promotion whose pods are Ramp's until the Deployment
// has rolled it out), the Deployment is unpaused when due and waited for,
// up to progressDeadlineSeconds from the deletion; past that, Ramp's
// ReplicaSets are let go of and keep running, as in Adopt mode.

// returnInPlace returns how long the deletion must still wait before the
// routing may be given back.
func (r *Reconciler) returnInPlace(ctx context.Context, ro *rampv1.Rollout, n *news) (time.Duration, error) {
	dep, err := r.inPlaceDeployment(ctx, ro)
	if dep == nil || err != nil {
		return 0, err
	}
	revs, err := r.listRevisions(ctx, ro)
	if err != nil {
		return 0, err
	}
	busy := false
	for _, rev := range revs {
		busy = busy || rev.replicas() > 0 || rev.pods() > 0
	}
	if !busy {
		if len(revs) == 0 {
			return 0, nil // no canary ever ran
		}
		// Nothing of Ramp's runs now: the routing may go back to the root
		// Service once no proxy lists Ramp's pods behind it any more.
		// Those may have gone just before the deletion (an abort's).
		at, _, err := r.stamp(ctx, ro, rampv1.AnnotationRemovedAt)
		if err != nil {
			return 0, err
		}
		return max(0, at.Add(time.Second+endpointPropagation(ro)).Sub(r.Clock.Now())), nil
	}
	orig := ro.DeepCopy()
	stable, wait, err := r.workloadRevision(ctx, ro, n, dep, revs)
	if err == nil {
		// The hand over's clock (status.workload.rolledOutAt) survives
		// the passes.
		err = r.patchStatus(ctx, orig, ro)
	}
	if err != nil || wait > 0 {
		return wait, err
	}
	now := r.Clock.Now()
	if !stable.external {
		// Handing a promotion over: the Deployment must serve it first.
		if dep.Spec.Paused && !templateHeld(ro, &dep.Spec.Template) { // a template changed again meanwhile stays held: see letGo
			if wait := resumeDue(ro, stable, now); wait > 0 {
				return wait, nil
			}
			if err := r.setPaused(ctx, dep, false); err != nil {
				return 0, err
			}
		}
		deadline := handBackDeadline(ro)
		if now.Before(deadline) {
			return pollHandBack, nil
		}
		return 0, r.letGo(ctx, ro, n, dep, ptr.Deref(dep.Spec.Replicas, 1))
	}
	if wait, err := r.routeBack(ctx, ro, n, stable); err != nil || wait > 0 {
		return wait, err
	}
	if _, _, err := r.stamp(ctx, ro, rampv1.AnnotationRemovedAt); err != nil {
		return 0, err
	}
	for _, rev := range revs {
		if rev.replicas() == 0 {
			continue
		}
		orig := rev.rs.DeepCopy()
		rev.rs.Spec.Replicas = ptr.To[int32](0)
		if err := r.Patch(ctx, rev.rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return 0, fmt.Errorf("scale ReplicaSet %s: %w", rev.rs.Name, err)
		}
		n.done(rev.rs, corev1.EventTypeNormal, "ScalingReplicaSet", "Cleanup",
			"Rollout deleted: scaled ReplicaSet %s (revision %d) to 0; Deployment %s serves all traffic", rev.rs.Name, rev.number, dep.Name)
	}
	return pollHandBack, nil // until their pods are gone
}

// routeBack sends all traffic to the Deployment's pods (stable), and
// returns how long the proxies may still route as before. The canary side
// keeps the revision the routing objects record for it: proxies that do
// not run the weight 0 yet still send those pods requests. Routing objects
// at fault (deleted, say) hold nothing: the deletion goes on.
func (r *Reconciler) routeBack(ctx context.Context, ro *rampv1.Rollout, n *news, stable *revision) (time.Duration, error) {
	router := r.routerFor(ro)
	canary := stable.hash
	reading, err := router.Verify(ctx)
	var cfg *traffic.ConfigError
	switch {
	case errors.As(err, &cfg):
		return 0, nil
	case err != nil:
		return 0, err
	case reading.Written != nil:
		canary = reading.Written.Canary
	}
	changes, err := router.SetWeight(ctx, traffic.Target{Stable: stable.hash, Canary: canary, StableLabels: stable.selector()})
	for _, c := range changes {
		n.done(c.Written, corev1.EventTypeNormal, "RouteUpdated", "Cleanup", "%s: %s", c.Object, c.Detail)
	}
	if errors.As(err, &cfg) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if wait, err := r.applied(ctx, ro, router, rampv1.AnnotationReturnedAt); err != nil || wait > 0 {
		return wait, err
	}
	// The write may have moved the stable Service (mid hand over, from
	// Ramp's pods to the Deployment's): the proxies learn its endpoints
	// endpointPropagationSeconds later, whatever the route reports.
	at, _ := time.Parse(time.RFC3339, ro.Annotations[rampv1.AnnotationReturnedAt])
	return max(0, at.Add(time.Second+endpointPropagation(ro)).Sub(r.Clock.Now())), nil
}

// resumeOnDelete unpauses a Deployment Ramp held, as the deletion's last
// step: it rolls out its template on its own from then on.
func (r *Reconciler) resumeOnDelete(ctx context.Context, ro *rampv1.Rollout, n *news) error {
	if ro.Spec.StatefulSet() {
		return r.releasePartition(ctx, ro, n)
	}
	dep, err := r.inPlaceDeployment(ctx, ro)
	if dep == nil || err != nil {
		return err
	}
	// First, the webhook stops holding it (see internal/admission).
	if _, _, err := r.stamp(ctx, ro, rampv1.AnnotationResumedAt); err != nil || !dep.Spec.Paused {
		return err
	}
	held := templateHeld(ro, &dep.Spec.Template)
	if !held && (ro.Status.Workload == nil || !ro.Status.Workload.Paused) {
		return nil // paused by someone else
	}
	if err := r.setPaused(ctx, dep, false); err != nil {
		return err
	}
	released(n, dep, "Deployment "+dep.Name+" unpaused", held)
	return nil
}

// released tells that the deletion let a workload go (what), and warns
// when it now rolls out a template Ramp had not promoted (held).
func released(n *news, obj client.Object, what string, held bool) {
	if held {
		n.done(obj, corev1.EventTypeWarning, "WorkloadResumed", "Cleanup",
			"Rollout deleted: %s; it now rolls out its template, which Ramp had not promoted, on its own; revert the template to stay on the stable version", what)
		return
	}
	n.done(obj, corev1.EventTypeNormal, "WorkloadResumed", "Cleanup", "Rollout deleted: %s", what)
}

// inPlaceDeployment reads the Deployment a Rollout runs in place; nil if
// it runs none, or the Deployment is gone or going.
func (r *Reconciler) inPlaceDeployment(ctx context.Context, ro *rampv1.Rollout) (*appsv1.Deployment, error) {
	if !ro.Spec.InPlaceDeployment() {
		return nil, nil
	}
	dep := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ro.Spec.WorkloadRef.Name}, dep); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	if dep.DeletionTimestamp != nil {
		return nil, nil
	}
	return dep, nil
}

// releasePartition is the last step of the deletion of a Rollout that runs
// a StatefulSet: the routing went back to the root Service, which selects
// the pods of both revisions, all serving; the partition Ramp held goes to
// 0, and the StatefulSet rolls out its template on its own from then on (a
// warning says so when Ramp had not promoted it).
func (r *Reconciler) releasePartition(ctx context.Context, ro *rampv1.Rollout, n *news) error {
	sts := &appsv1.StatefulSet{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ro.Spec.WorkloadRef.Name}, sts); err != nil || sts.DeletionTimestamp != nil {
		return client.IgnoreNotFound(err)
	}
	// First, the webhook stops holding it (see internal/admission).
	if _, _, err := r.stamp(ctx, ro, rampv1.AnnotationResumedAt); err != nil {
		return err
	}
	set := &statefulSet{sts: sts}
	held := templateHeld(ro, &sts.Spec.Template)
	byRamp := (ro.Status.Workload != nil && ro.Status.Workload.Paused) || (held && set.partition() >= set.replicas()) // the webhook's
	if set.partition() == 0 || !byRamp {
		return nil // not held, or by someone else
	}
	if err := r.setPartition(ctx, sts, 0); err != nil {
		return err
	}
	released(n, sts, "StatefulSet "+sts.Name+"'s partition set to 0", held)
	return nil
}
