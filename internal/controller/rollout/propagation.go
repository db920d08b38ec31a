package rollout

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// A mesh's proxies apply a change of weights or of a Service's endpoints
// some time after it is written, each at its own pace. A request is lost
// when a proxy sends it where nothing answers: to a canary Service whose
// pods it does not know yet, or to pods that are gone. So, with a mesh
// router:
//
//   - a canary's weight rises above 0 only once its pods have been
//     available behind the canary Service for endpointPropagationSeconds
//     (status.routing.canaryServedAt);
//   - when the canary side's weight goes to 0 from above, or its last
//     header, cookie or mirror route goes (a rollback, a promotion, a
//     canary replaced), its revision drains: its pods stay,
//     and the canary Service selects it and no other, until the router
//     reports every proxy applied the zero weight or
//     abortScaleDownDelaySeconds have passed. The drain's start is written
//     with the zero weight, on the routing object (traffic.Target.Drain).
//
// Promotion needs no more: the stable Service moves to the new pods before
// the weights return to it, and the old pods stay scaleDownDelaySeconds.

// Defaults of the two delays, with a mesh router.
const (
	defaultAbortScaleDownDelay = 30 * time.Second
	defaultEndpointPropagation = 5 * time.Second
)

// abortScaleDownDelay is how long a drain may wait for its report.
func abortScaleDownDelay(ro *rampv1.Rollout) time.Duration {
	if s := ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return defaultAbortScaleDownDelay
}

// endpointPropagation is how long the canary's pods are served before its
// weight may rise above 0.
func endpointPropagation(ro *rampv1.Rollout) time.Duration {
	if s := ro.Spec.Strategy.Canary.EndpointPropagationSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return defaultEndpointPropagation
}

// trackDrain notes the revision whose traffic is draining (st.draining),
// from the record on the routing objects; a drain that is over is told,
// and the pass's routing write drops it from the record.
func (r *Reconciler) trackDrain(st *rolloutState) {
	rec, reading := st.reading.Written, st.reading
	if !st.mesh || rec == nil || rec.Weight != 0 || rec.Drain.IsZero() {
		return
	}
	delay := abortScaleDownDelay(st.ro)
	until := rec.Drain.Add(delay)
	// What the end of the drain lets happen: a rolled-back or replaced
	// canary loses its pods; after a promotion, the drained revision is
	// the stable one, and only the canary Service is free again.
	next := revisionLabel(st, rec.Canary) + " may lose its pods"
	if rec.Canary == st.stable.hash {
		next = "the canary Service may select the next canary"
	}
	switch {
	case reading.Reports && reading.Applied >= reading.Generation:
		st.news.decided(corev1.EventTypeNormal, "TrafficDrained", "Drain",
			"Every proxy applied the canary's weight 0 in %s (generation %d) %s after it was written; %s",
			st.routingObject(), reading.Generation, st.now.Sub(rec.Drain).Round(time.Millisecond), next)
	case !st.now.Before(until) && reading.Reports:
		st.news.decided(corev1.EventTypeWarning, "DrainUnconfirmed", "Drain",
			"%s did not report generation %d applied within abortScaleDownDelaySeconds (%s); after the delay, %s",
			st.routingObject(), reading.Generation, delay, next)
	case !st.now.Before(until):
		st.news.decided(corev1.EventTypeNormal, "TrafficDrained", "Drain",
			"abortScaleDownDelaySeconds (%s) passed since the canary's weight went to 0; %s", delay, next)
	default:
		st.draining, st.drainSince = rec.Canary, rec.Drain
		st.requeueAfter(until.Sub(st.now))
	}
}

// hold narrows a routing target so that the canary side never selects
// another revision while proxies may still send it requests: while a
// revision drains, the canary side stays on it, with no weight unless it
// is that revision again (a retry); and a canary side that carries traffic
// first goes to 0 where it is. It reports whether it changed the target,
// and sets the drain a zero weight starts or continues.
func (st *rolloutState) hold(t *traffic.Target) bool {
	held, by := st.holds(t.Canary)
	if held {
		t.Canary, t.Weight, t.Rest, t.Routes = by, 0, false, nil
	}
	switch {
	case t.Weight > 0 || t.Rest || len(t.Routes) > 0:
	case st.draining != "" && t.Canary == st.draining:
		t.Drain = st.drainSince // the drain goes on
	case st.carries() && st.mesh:
		// The canary side's weight (and routes) go to 0 now: it drains
		// from now, the moment of the write, not the pass's start (a
		// loaded pass would shorten the delay by its own length).
		at := st.now.Add(time.Since(st.wall))
		t.Drain = at
		st.draining, st.drainSince = t.Canary, at
		st.requeueAfter(abortScaleDownDelay(st.ro))
	}
	return held
}

// holds reports whether the canary side must stay on another revision
// (by) rather than select canary: one that drains, or one that carries
// traffic.
func (st *rolloutState) holds(canary string) (held bool, by string) {
	switch {
	case st.draining != "" && canary != st.draining:
		return true, st.draining
	case st.draining == "" && st.carries() && st.routedCanary != "" && canary != st.routedCanary:
		return true, st.routedCanary
	}
	return false, ""
}

// carries reports whether the canary side gets requests: a weight, or a
// header, cookie or mirror route.
func (st *rolloutState) carries() bool { return st.reached > 0 || st.routes > 0 }

// restDue reports whether the routing objects may go back to rest now that
// only the stable revision has pods: once every proxy has dropped the pods
// of the others (endpointPropagationSeconds after they were seen gone), as
// at rest a subset may select every revision again.
func (r *Reconciler) restDue(st *rolloutState) bool {
	s := &st.ro.Status
	if st.reading.Written == nil {
		s.Routing = nil // at rest already
		return true
	}
	if s.Routing == nil || s.Routing.RestAt == nil {
		s.Routing = &rampv1.RoutingStatus{RestAt: ptr.To(metav1.NewMicroTime(st.now.Add(endpointPropagation(st.ro))))}
	}
	if at := s.Routing.RestAt.Time; st.now.Before(at) {
		st.requeueAfter(at.Sub(st.now))
		return false
	}
	return true
}

// routingObject names the object that holds the weights, for people.
func (st *rolloutState) routingObject() string {
	if keys := routingObjects(st.ro); len(keys) > 1 {
		return strings.Replace(keys[1], "/", " ", 1)
	}
	return "the routing object"
}

// revisionLabel names a revision by number for people, or by hash.
func revisionLabel(st *rolloutState, hash string) string {
	if rev := findRevision(st.revs, hash); rev != nil {
		return fmt.Sprintf("revision %d", rev.number)
	}
	return "revision " + hash
}
