package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/internal/traffic/routers"
	"github.com/rampcd/ramp/internal/validation"
)

// specError is a fault in the Rollout's spec that admission could not
// catch (it depends on other objects). It is reported in status and events,
// and the Rollout waits for a change rather than retrying.
type specError struct {
	reason, message string
	// retry: the fault lies in objects Ramp does not watch (a missing
	// template or Service), so the Rollout looks again in a while.
	retry bool
}

func (e *specError) Error() string { return e.message }

// podTemplate returns the pod template to run: spec.template, or the
// template of the Deployment or StatefulSet named by spec.workloadRef.
func (r *Reconciler) podTemplate(ctx context.Context, ro *rampv1.Rollout) (*corev1.PodTemplateSpec, *appsv1.Deployment, *appsv1.StatefulSet, error) {
	tmpl, labelsPath := ro.Spec.Template, field.NewPath("spec", "template", "metadata", "labels")
	var dep *appsv1.Deployment
	var sts *appsv1.StatefulSet
	if ref := ro.Spec.WorkloadRef; ref != nil {
		kind, obj, t := ref.NewObject()
		if err := r.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, obj); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil, nil, &specError{reason: "WorkloadNotFound", message: fmt.Sprintf(
					"spec.workloadRef: %s %q not found in namespace %s; create it or fix the name", kind, ref.Name, ro.Namespace)}
			}
			return nil, nil, nil, err
		}
		tmpl, labelsPath = t, field.NewPath(kind+" "+ref.Name, "spec", "template", "metadata", "labels")
		dep, _ = obj.(*appsv1.Deployment)
		sts, _ = obj.(*appsv1.StatefulSet)
	}
	if tmpl == nil {
		return nil, nil, nil, &specError{reason: "InvalidSpec", message: "set one of spec.template and spec.workloadRef"}
	}
	if errs := validation.Selector(ro.Spec.Selector, tmpl, labelsPath); len(errs) > 0 {
		return nil, nil, nil, &specError{reason: "SelectorMismatch", message: errs.ToAggregate().Error()}
	}
	return tmpl, dep, sts, nil
}

// scaleDownWorkload scales an adopted Deployment to zero once the Rollout's
// stable revision is fully available, so that the two never run the
// workload short-handed, and, with a router that routes through Ramp's
// Services, once no proxy sends the Deployment's pods a request
// (routedAway): they then go with nothing in flight.
func (r *Reconciler) scaleDownWorkload(ctx context.Context, st *rolloutState) error {
	dep := st.workload
	if dep == nil || ptr.Deref(dep.Spec.Replicas, 1) == 0 {
		return nil
	}
	if st.stable.available() < st.budget.replicas || !routedAway(st) {
		return nil
	}
	orig := dep.DeepCopy()
	dep.Spec.Replicas = ptr.To[int32](0)
	if err := r.Patch(ctx, dep, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("scale down Deployment %s: %w", dep.Name, err)
	}
	st.news.done(dep, corev1.EventTypeNormal, "WorkloadScaledDown", "Adopt",
		"Deployment %s scaled to 0: revision %d runs its pods now", dep.Name, st.stable.number)
	return nil
}

// routedAway reports whether the proxies route the Deployment's traffic to
// Ramp's stable Service: the route named it when the pass began, and the
// router reports every proxy runs it, or abortScaleDownDelaySeconds have
// passed since it was written (endpointPropagationSeconds after
// status.routing.stableServedAt). Routers without Ramp's Services (pod
// ratio, Istio's subsets) reach the Deployment's pods through the root
// Service alone: nothing to wait for.
func routedAway(st *rolloutState) bool {
	d := routers.For(st.ro)
	if !d.Mesh || d.Services != nil {
		return true
	}
	if !st.reading.Stable {
		return false
	}
	if st.reading.Reports && st.reading.Applied >= st.reading.Generation {
		return true
	}
	rt := st.ro.Status.Routing
	if rt == nil || rt.StableServedAt == nil {
		return true // routed before this controller recorded when
	}
	wait := rt.StableServedAt.Add(endpointPropagation(st.ro) + abortScaleDownDelay(st.ro)).Sub(st.now)
	if wait > 0 {
		st.requeueAfter(wait)
		return false
	}
	return true
}

// firstRouteHeld reports whether the first route of a Rollout that takes
// over a Deployment's traffic must wait. Until Ramp routes, clients reach
// the Deployment's pods (and the Rollout's, which the root Service selects
// too) through the root Service. The stable Service is new: a proxy that
// ran the route before it knew that Service's pods would have nowhere to
// send a request. So the Services are made first, and the route waits
// until the stable pods have been available behind them for
// endpointPropagationSeconds (status.routing.stableServedAt).
func (r *Reconciler) firstRouteHeld(ctx context.Context, st *rolloutState) (bool, error) {
	d := routers.For(st.ro)
	if st.reading.Stable || st.ro.Spec.WorkloadRef == nil || !d.Mesh || d.Services != nil {
		return false, nil // routed before, nothing served before, or no Service of Ramp's
	}
	s := &st.ro.Status
	if s.Routing == nil || s.Routing.StableServedAt == nil {
		t := traffic.Target{Stable: st.stable.hash, Canary: st.stable.hash, StableLabels: st.stable.selector()}
		_, changes, err := traffic.PointServices(ctx, traffic.Kube{Client: r.Client, Scheme: r.Scheme}, st.ro, t)
		r.reportChanges(st, changes)
		if err != nil || st.stable.available() < st.budget.replicas {
			return true, err
		}
		s.Routing = &rampv1.RoutingStatus{StableServedAt: ptr.To(metav1.NewMicroTime(st.now))}
	}
	if wait := s.Routing.StableServedAt.Add(endpointPropagation(st.ro)).Sub(st.now); wait > 0 {
		st.requeueAfter(wait)
		return true, nil
	}
	return false, nil
}
