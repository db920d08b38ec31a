package rollout

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// scaleTarget is where one revision's ReplicaSet should go.
type scaleTarget struct {
	rev  *revision
	want int32
	// now reaches want in one write, ignoring surge and availability: a
	// rollback, or a canary that was dropped.
	now bool
	// hold keeps the current count: an old revision whose scale-down
	// delay has not passed.
	hold bool
}

// budget bounds a replacement of pods: at most replicas+maxSurge pods, and
// at least replicas-maxUnavailable of them available.
type budget struct {
	replicas, maxSurge, maxUnavailable int32
}

// newBudget resolves, for n replicas, maxSurge (percentages round up) and maxUnavailable
// (percentages round down) against the replica count, as Deployments do.
func newBudget(ro *rampv1.Rollout, n int32) (budget, error) {
	canary := ro.Spec.Strategy.Canary
	surge, err := intstr.GetScaledValueFromIntOrPercent(ptr.To(ptr.Deref(canary.MaxSurge, intstr.FromString("25%"))), int(n), true)
	if err != nil {
		return budget{}, fmt.Errorf("spec.strategy.canary.maxSurge: %w", err)
	}
	unavailable, err := intstr.GetScaledValueFromIntOrPercent(ptr.To(ptr.Deref(canary.MaxUnavailable, intstr.FromInt32(0))), int(n), false)
	if err != nil {
		return budget{}, fmt.Errorf("spec.strategy.canary.maxUnavailable: %w", err)
	}
	if surge == 0 && unavailable == 0 {
		surge = 1 // both zero could never replace a pod
	}
	return budget{replicas: n, maxSurge: int32(surge), maxUnavailable: int32(min(unavailable, int(n)))}, nil
}

// planReplicas returns the next replica count of each target, moving each
// toward its want as far as the budget allows in this pass. Targets listed
// first are served first when growing and when shrinking.
//
// Growing is bounded by maxSurge over all pods. Shrinking first removes
// pods that are not available (that costs no availability), then available
// ones only while replicas-maxUnavailable pods stay available.
func planReplicas(b budget, targets []scaleTarget) []int32 {
	next := make([]int32, len(targets))
	var total, available int32
	for i, t := range targets {
		next[i] = t.rev.replicas()
		if t.now {
			next[i] = t.want
		}
		total += next[i]
		available += min(t.rev.available(), next[i])
	}
	maxTotal := b.replicas + b.maxSurge
	for i, t := range targets {
		if t.now || t.hold || t.want <= next[i] {
			continue
		}
		add := min(t.want-next[i], max(0, maxTotal-total))
		next[i] += add
		total += add
	}
	removable := max(0, available-(b.replicas-b.maxUnavailable))
	for i, t := range targets {
		if t.now || t.hold || t.want >= next[i] {
			continue
		}
		excess := next[i] - t.want
		notAvailable := max(0, next[i]-t.rev.available())
		free := min(excess, notAvailable)
		take := min(excess-free, removable)
		next[i] -= free + take
		removable -= take
	}
	return next
}

// scale writes the planned replica counts and scale-down times to the
// ReplicaSets, each only when it changes.
func (r *Reconciler) scale(ctx context.Context, st *rolloutState) error {
	next := planReplicas(st.budget, st.targets)
	for i, t := range st.targets {
		if t.rev.external {
			continue // the Deployment's, run in place: never Ramp's to scale
		}
		rs := t.rev.rs
		orig := rs.DeepCopy()
		rs.Spec.Replicas = ptr.To(next[i])
		rs.Spec.MinReadySeconds = st.ro.Spec.MinReadySeconds
		at, delayed := st.scaleDownAt[t.rev.hash]
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		switch {
		case delayed && rs.Annotations[rampv1.AnnotationScaleDownAt] == "":
			rs.Annotations[rampv1.AnnotationScaleDownAt] = at.UTC().Format(time.RFC3339)
		case !delayed && rs.Annotations[rampv1.AnnotationScaleDownAt] != "" && next[i] > 0 && !t.hold:
			delete(rs.Annotations, rampv1.AnnotationScaleDownAt) // back in use (an undo)
		}
		if ptr.Deref(orig.Spec.Replicas, 0) == next[i] && orig.Spec.MinReadySeconds == rs.Spec.MinReadySeconds &&
			orig.Annotations[rampv1.AnnotationScaleDownAt] == rs.Annotations[rampv1.AnnotationScaleDownAt] {
			continue
		}
		if err := r.Patch(ctx, rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("scale ReplicaSet %s: %w", rs.Name, err)
		}
		if from := ptr.Deref(orig.Spec.Replicas, 0); from != next[i] {
			st.news.done(rs, corev1.EventTypeNormal, "ScalingReplicaSet", "Scale",
				"Scaled ReplicaSet %s (revision %d) from %d to %d", rs.Name, t.rev.number, from, next[i])
		}
	}
	return nil
}
