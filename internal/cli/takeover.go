package cli

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/deployfile"
)

// running lists the Deployments, already running in the cluster, that a
// target's Rollouts replace: the Rollout of a Deployment's name takes over
// from it (takeOver) rather than run beside it for ever.
func running(ctx context.Context, c client.Client, tp deployfile.TargetPlan) ([]*appsv1.Deployment, error) {
	var deps []*appsv1.Deployment
	for _, ref := range tp.Rollouts {
		d := &appsv1.Deployment{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, d)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("target %s: read Deployment %s/%s: %w", tp.Name, ref.Namespace, ref.Name, err)
		case ptr.Deref(d.Spec.Replicas, 1) > 0:
			deps = append(deps, d)
		}
	}
	return deps, nil
}

// takeOver scales a running Deployment to 0 once the Rollout of its name
// runs all its own pods, available: the Service that selects both never
// lacks pods. A Rollout that does not get there (a Degraded one, the
// progress deadline) leaves the Deployment running, and says so.
func (o *Options) takeOver(ctx context.Context, c client.WithWatch, target string, d *appsv1.Deployment) error {
	fmt.Fprintf(o.Out, "%s: deployment %s/%s keeps its pods until rollout %s runs all of its own\n", target, d.Namespace, d.Name, d.Name)
	ro := &rampv1.Rollout{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(d), ro); err != nil {
		return fmt.Errorf("target %s: read rollout %s: %w", target, d.Name, err)
	}
	// The deployment's own deadline, or the Rollout's for its pods.
	limit := time.Until(deadline(ctx))
	if _, set := ctx.Deadline(); !set {
		limit = time.Duration(ptr.Deref(ro.Spec.ProgressDeadlineSeconds, 600)) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	w, err := c.Watch(ctx, &rampv1.RolloutList{}, client.InNamespace(d.Namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", d.Name)})
	if err != nil {
		return err
	}
	defer w.Stop()
	for !tookOver(ro) {
		if ro.Status.Phase == rampv1.PhaseDegraded && ro.Status.ObservedGeneration == ro.Generation {
			return fmt.Errorf("target %s: rollout %s is Degraded (%s); Deployment %s keeps running", target, d.Name, ro.Status.Message, d.Name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("target %s: rollout %s did not run its %d pods within %s; Deployment %s keeps running",
				target, d.Name, ptr.Deref(ro.Spec.Replicas, 1), limit, d.Name)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("target %s: the watch of rollout %s ended; Deployment %s keeps running", target, d.Name, d.Name)
			}
			if got, isRollout := ev.Object.(*rampv1.Rollout); isRollout {
				ro = got
			}
		}
	}
	orig := d.DeepCopy()
	d.Spec.Replicas = ptr.To[int32](0)
	if err := c.Patch(ctx, d, client.MergeFrom(orig), client.FieldOwner("ramp-deploy")); err != nil {
		return fmt.Errorf("target %s: scale Deployment %s to 0: %w", target, d.Name, err)
	}
	fmt.Fprintf(o.Out, "%s: deployment %s/%s scaled to 0: rollout %s runs its %d pods (delete the Deployment when you like)\n",
		target, d.Namespace, d.Name, d.Name, ro.Status.AvailableReplicas)
	return nil
}

// tookOver reports whether a Rollout, as of its current spec, runs as many
// available pods as it is asked for: a new Rollout's first revision, at
// full scale; one that existed (a deployment run again) may be in a
// canary, whose stable revision keeps its pods.
func tookOver(ro *rampv1.Rollout) bool {
	s := ro.Status
	return s.ObservedGeneration == ro.Generation && s.StableRevision != "" && s.AvailableReplicas >= ptr.Deref(ro.Spec.Replicas, 1)
}
