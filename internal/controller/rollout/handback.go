package rollout

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Deleting a Rollout that adopted a Deployment.
//
// Its ReplicaSets go with it (garbage collection), and the Deployment it
// scaled to zero would be left with no pod. So the Rollout's finalizer
// first hands the workload back: the Deployment is scaled back to the
// Rollout's replicas and waited for until all of them are available (with
// the template it holds: mid-canary or after an abort, the new version,
// unchecked, as the Deployment says; a warning says so). Then the router gives the routing back to the root Service, and
// the Rollout waits until the proxies apply that before its Services and
// pods may go. The pods then leave the root Service as any Deployment's do
// in a rolling update: the app's preStop sleep covers the proxies' lag.
//
// A Deployment that does not become available within
// progressDeadlineSeconds of the deletion does not hold the Rollout
// forever: its ReplicaSets are let go of instead (no longer owned, so kept
// running) and an event names them. The Deployment adopts them, as it
// does any orphan its selector matches, and replaces them at the pace its
// strategy allows once its own pods serve.

// pollHandBack is how often a deletion looks at the Deployment it waits
// for: Deployment status changes do not trigger a pass.
const pollHandBack = time.Second

// handBack returns how long the deletion must still wait for the adopted
// Deployment (0 once it serves, or if there is none to wait for).
func (r *Reconciler) handBack(ctx context.Context, ro *rampv1.Rollout, n *news) (time.Duration, error) {
	ref := ro.Spec.WorkloadRef
	if ref == nil || ro.Spec.InPlace() {
		return 0, nil // in place: returnInPlace
	}
	dep := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, dep); err != nil {
		return 0, client.IgnoreNotFound(err) // nothing to hand back
	}
	if dep.DeletionTimestamp != nil {
		return 0, nil // it goes too (a namespace deleted, an uninstall)
	}
	want := ptr.Deref(ro.Spec.Replicas, 1)
	// Before the scale-up too: a write refused each time, or someone
	// scaling the Deployment back down, must not hold the deletion forever.
	deadline := handBackDeadline(ro)
	late := !r.Clock.Now().Before(deadline)
	if ptr.Deref(dep.Spec.Replicas, 1) < want && !late {
		orig := dep.DeepCopy()
		dep.Spec.Replicas = ptr.To(want)
		if err := r.Patch(ctx, dep, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return 0, fmt.Errorf("scale Deployment %s back: %w", dep.Name, err)
		}
		if c := ro.Status.CanaryRevision; c != "" {
			// The Deployment holds the canary's template: scaled back, it
			// runs it everywhere, as the Deployment says, unchecked.
			n.done(dep, corev1.EventTypeWarning, "WorkloadScaledUp", "HandBack",
				"Rollout deleted: Deployment %s scaled back to %d with its template, revision %s, which Ramp had not promoted; revert the Deployment's template to go back to the stable version",
				dep.Name, want, c)
		} else {
			n.done(dep, corev1.EventTypeNormal, "WorkloadScaledUp", "HandBack",
				"Rollout deleted: Deployment %s scaled back to %d; the Rollout's pods go once its pods are available", dep.Name, want)
		}
		return pollHandBack, nil
	}
	if available(dep, want) {
		return 0, nil
	}
	if !late {
		return pollHandBack, nil
	}
	return 0, r.letGo(ctx, ro, n, dep, want)
}

// handBackDeadline is when a deletion stops waiting for the Deployment:
// progressDeadlineSeconds after it, counting in full the second begun
// (the deletion timestamp keeps whole seconds).
func handBackDeadline(ro *rampv1.Rollout) time.Time {
	return ro.DeletionTimestamp.Add(time.Second + time.Duration(ptr.Deref(ro.Spec.ProgressDeadlineSeconds, 600))*time.Second)
}

// available reports whether dep runs want available pods of its current
// template.
func available(dep *appsv1.Deployment, want int32) bool {
	s := dep.Status
	return s.ObservedGeneration >= dep.Generation && s.UpdatedReplicas >= want && s.AvailableReplicas >= want
}

// letGo keeps the Rollout's pods running when the Deployment missed the
// deadline: its ReplicaSets lose their owner, and so outlive it.
func (r *Reconciler) letGo(ctx context.Context, ro *rampv1.Rollout, n *news, dep *appsv1.Deployment, want int32) error {
	revs, err := r.listRevisions(ctx, ro)
	if err != nil || len(revs) == 0 {
		return err // let go of already
	}
	var names []string
	for _, rev := range revs {
		orig := rev.rs.DeepCopy()
		rev.rs.OwnerReferences = nil
		if err := r.Patch(ctx, rev.rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("let go of ReplicaSet %s: %w", rev.rs.Name, err)
		}
		names = append(names, rev.rs.Name)
	}
	n.done(dep, corev1.EventTypeWarning, "WorkloadNotReady", "HandBack",
		"Deployment %s has %d of %d pods available after progressDeadlineSeconds; ReplicaSets %v are left running for it to adopt and replace once its pods serve",
		dep.Name, dep.Status.AvailableReplicas, want, names)
	return nil
}
