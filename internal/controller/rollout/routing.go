package rollout

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/internal/traffic/routers"
)

// cleanupFinalizer holds a Rollout with a mesh router until the router has
// taken back what it added to objects Ramp does not own, and one that
// adopted a Deployment until the Deployment serves again (handback.go,
// inplacedelete.go).
const cleanupFinalizer = rampv1.FinalizerCleanup

// routerFor returns the router the Rollout's spec asks for.
func (r *Reconciler) routerFor(ro *rampv1.Rollout) traffic.Router {
	return routers.New(traffic.Kube{Client: r.Client, Scheme: r.Scheme}, ro)
}

// isMesh reports whether a router shapes traffic with weights rather than
// pods.
func isMesh(ro *rampv1.Rollout) bool { return routers.For(ro).Mesh }

// observeRouting reads the weight the routing objects give the canary now,
// and whether someone changed it since the last pass recorded it.
func (r *Reconciler) observeRouting(ctx context.Context, st *rolloutState) error {
	if !st.mesh {
		return nil
	}
	reading, err := st.router.Verify(ctx)
	if err != nil {
		return err
	}
	st.reading = reading
	if reading.Written != nil {
		st.routedCanary = reading.Written.Canary
	}
	st.reached, st.routes = reading.Weight, reading.Routes
	// What Ramp last wrote for this canary: the record on the routing
	// object, which a controller killed before its status write does not
	// lose, else the status. A canary started in this pass has had none.
	switch {
	case st.canary == nil || !st.started.IsZero():
		st.written = 0
	case reading.Written != nil && reading.Written.Canary == st.canary.hash:
		st.written = reading.Written.Weight
	case reading.Written != nil:
		st.written = 0 // the record is of a canary this one replaced
	default:
		st.written = st.ro.Status.Weight.Reached
	}
	st.drifted = reading.Written != nil && reading.Weight != reading.Written.Weight
	return nil
}

// promotionWritten reports whether the routing objects record this
// canary's promotion (see traffic.Written.Promoted).
func (st *rolloutState) promotionWritten() bool {
	w := st.reading.Written
	return w != nil && w.Promoted && st.canary != nil && w.Canary == st.canary.hash
}

// route writes target into the routing objects, with an event for each
// write that was not simply the next step. The canary side keeps its
// revision while proxies may still send it requests (rolloutState.hold);
// held reports that the target was narrowed so.
//
// The weight written is recorded in status at once, not only when the pass
// ends well: the status is saved on every exit, and the next pass must not
// take an older weight for the truth.
func (r *Reconciler) route(ctx context.Context, st *rolloutState, t traffic.Target) (held bool, err error) {
	held = st.hold(&t)
	t.StableLabels, t.CanaryLabels = st.labelsOf(t.Stable), st.labelsOf(t.Canary)
	changes, err := st.router.SetWeight(ctx, t)
	r.reportChanges(st, changes)
	if err != nil {
		return held, err
	}
	st.reached, st.routes, st.routedCanary = t.Weight, len(t.Routes), t.Canary
	if st.canary != nil && t.Canary == st.canary.hash {
		st.written = t.Weight
		st.ro.Status.Weight.Reached = t.Weight
	}
	return held, nil
}

// labelsOf returns the labels that select the pods of the revision hash,
// when they are not Ramp's revision label (revision.selector).
func (st *rolloutState) labelsOf(hash string) map[string]string {
	if st.statefulSet != nil {
		return st.statefulSet.labels(hash) // any of its revisions, a draining one too
	}
	for _, rev := range []*revision{st.stable, st.canary, st.current} {
		if rev != nil && rev.hash == hash {
			return rev.selector()
		}
	}
	return nil
}

func (r *Reconciler) reportChanges(st *rolloutState, changes []traffic.Change) {
	for _, c := range changes {
		switch {
		case c.Created && st.canary != nil:
			st.news.done(c.Written, corev1.EventTypeWarning, "RouteRecreated", "Route", "%s was missing; created: %s", c.Object, c.Detail)
		case c.Created:
			st.news.done(c.Written, corev1.EventTypeNormal, "RouteCreated", "Route", "Created %s: %s", c.Object, c.Detail)
		case st.drifted:
			st.news.done(c.Written, corev1.EventTypeWarning, "RouteRepaired", "Route",
				"%s was changed by hand during the canary; set back: %s", c.Object, c.Detail)
		default:
			st.news.done(c.Written, corev1.EventTypeNormal, "RouteUpdated", "Route", "%s: %s", c.Object, c.Detail)
		}
	}
}

// keepRouting writes the weight this pass stands at, so that a weight
// edited by hand is put back and a deleted object recreated. The weight
// rises only once the canary's pods for it are available; runSteps raises
// it, this never does.
func (r *Reconciler) keepRouting(ctx context.Context, st *rolloutState) error {
	if !st.mesh || st.routed {
		return nil
	}
	var err error
	switch {
	case st.mode == modeCanary && st.promotionWritten():
		// A promotion written by a pass whose status was lost, which now
		// waits (for the canary's pods, say): traffic stays promoted.
		_, err = r.route(ctx, st, traffic.Target{Stable: st.canary.hash, Canary: st.canary.hash})
	case st.mode == modeCanary:
		_, err = r.route(ctx, st, traffic.Target{Stable: st.stable.hash, Canary: st.canary.hash,
			Weight: min(st.weight, st.written), Routes: st.plan.Routes})
	case st.mode == modeAborted:
		_, err = r.route(ctx, st, traffic.Target{Stable: st.stable.hash, Canary: st.canary.hash})
		if err == nil && !st.abortedAt.IsZero() {
			RollbackRouteSeconds.Observe(time.Since(st.abortedAt).Seconds())
		}
	default:
		if held, err := r.firstRouteHeld(ctx, st); held || err != nil {
			return err
		}
		// While the old revision scales down it gets no traffic, and
		// Istio's subsets still tell the revisions apart; after, the
		// objects rest.
		// Not while an adopted Deployment still has pods: routedAway
		// reads status.routing, which restDue may clear.
		// In place, not while Ramp's pods serve the stable revision (a
		// hand over): Istio's subsets would select the Deployment's old
		// pods again.
		workloadGone := (st.workload == nil || ptr.Deref(st.workload.Spec.Replicas, 1) == 0) &&
			(st.inPlace == nil || st.stable.external)
		rest := oldPods(st) == 0 && st.draining == "" && workloadGone && r.restDue(st)
		_, err = r.route(ctx, st, traffic.Target{Stable: st.stable.hash, Canary: st.stable.hash, Rest: rest})
		st.atRest = err == nil && rest
		if st.atRest {
			st.ro.Status.Routing = nil // in this pass's status write, not the next's
		}
	}
	return err
}

// finalize hands an adopted Deployment back (handBack) and gives back the
// routing objects Ramp does not own before a Rollout goes, and then lets it
// go. After a hand back, the release of the routing must reach the
// proxies first: the Services the routing named go with the Rollout.
func (r *Reconciler) finalize(ctx context.Context, ro *rampv1.Rollout) (time.Duration, error) {
	if !controllerutil.ContainsFinalizer(ro, cleanupFinalizer) {
		return 0, nil
	}
	n := &news{}
	defer r.tell(ro, n, false)
	if wait, err := r.handBack(ctx, ro, n); err != nil || wait > 0 {
		return wait, err
	}
	if wait, err := r.returnInPlace(ctx, ro, n); err != nil || wait > 0 {
		return wait, err
	}
	router := r.routerFor(ro)
	changes, err := router.Cleanup(ctx)
	for _, c := range changes {
		n.done(c.Written, corev1.EventTypeNormal, "RouteReleased", "Cleanup", "%s given back: %s", c.Object, c.Detail)
	}
	var cfg *traffic.ConfigError
	if err != nil && !errors.As(err, &cfg) { // a config fault: nothing of ours is there
		return 0, err
	}
	if ro.Spec.WorkloadRef != nil && isMesh(ro) && err == nil {
		if wait, err := r.applied(ctx, ro, router, rampv1.AnnotationReleasedAt); err != nil || wait > 0 {
			return wait, err
		}
	}
	if err := r.resumeOnDelete(ctx, ro, n); err != nil {
		return 0, err
	}
	orig := ro.DeepCopy()
	controllerutil.RemoveFinalizer(ro, cleanupFinalizer)
	return 0, r.Patch(ctx, ro, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}

// applied returns how long the proxies may still route by the weights
// from before a write the deletion made (the release, or in place the
// return to the Deployment's pods): until the router reports it applied,
// or abortScaleDownDelaySeconds from it (recorded on the Rollout under
// annotation, so that a restarted controller waits no less).
func (r *Reconciler) applied(ctx context.Context, ro *rampv1.Rollout, router traffic.Router, annotation string) (time.Duration, error) {
	at, fresh, err := r.stamp(ctx, ro, annotation)
	if err != nil || fresh {
		return pollHandBack, err
	}
	if reading, err := router.Verify(ctx); err == nil && reading.Reports && reading.Applied >= reading.Generation {
		return 0, nil
	}
	// RFC 3339 keeps whole seconds: the second begun counts in full.
	return max(0, at.Add(time.Second+abortScaleDownDelay(ro)).Sub(r.Clock.Now())), nil
}

// stamp returns when a step of a deletion was taken, recorded on the
// Rollout under annotation by the first call (fresh), so that a restarted
// controller waits no less.
func (r *Reconciler) stamp(ctx context.Context, ro *rampv1.Rollout, annotation string) (at time.Time, fresh bool, err error) {
	if at, err := time.Parse(time.RFC3339, ro.Annotations[annotation]); err == nil {
		return at, false, nil
	}
	now := r.Clock.Now()
	orig := ro.DeepCopy()
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	ro.Annotations[annotation] = now.UTC().Format(time.RFC3339)
	return now, true, r.Patch(ctx, ro, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}

// ensureFinalizer holds a Rollout with a mesh router, or one that adopted
// a Deployment, for finalize.
func (r *Reconciler) ensureFinalizer(ctx context.Context, ro *rampv1.Rollout) error {
	if !(isMesh(ro) || ro.Spec.WorkloadRef != nil) || controllerutil.ContainsFinalizer(ro, cleanupFinalizer) {
		return nil
	}
	orig := ro.DeepCopy()
	controllerutil.AddFinalizer(ro, cleanupFinalizer)
	return r.Patch(ctx, ro, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}

// routingObjects names the objects a Rollout's routing reads, as
// "Kind/name" keys for the index that maps their changes to the Rollout.
func routingObjects(ro *rampv1.Rollout) []string {
	d := routers.For(ro)
	if !d.Mesh {
		return nil
	}
	if ro.Spec.Strategy.BlueGreen != nil {
		ro = ro.DeepCopy() // a cached object: never changed in place
		ro.Normalize()
	}
	objs := d.Objects(ro)
	if ro.Spec.Service != "" {
		objs = append(objs, "Service/"+ro.Spec.Service)
	}
	return objs
}
