// Package traffic shapes how requests are shared between the stable and the
// canary revision of a Rollout. A Router is one way of doing it: pod ratio
// (package podratio), or weights written into a mesh or route resource
// (packages smi, gatewayapi and istio).
package traffic

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Pods counts the available pods of the two revisions a canary compares.
type Pods struct {
	Stable, Canary int32
}

// PodShare is the canary's share of all available pods, rounded down to the
// weight's precision: the weight pod ratio reaches.
func PodShare(pods Pods) rampv1.Weight {
	total := int64(pods.Stable) + int64(pods.Canary)
	if total == 0 {
		return 0
	}
	return rampv1.Weight(int64(pods.Canary) * int64(rampv1.FullWeight) / total)
}

// Target is where a router sends traffic.
type Target struct {
	// Stable and Canary are the pod-template hashes of the two revisions;
	// they are equal when no canary is in flight.
	Stable, Canary string
	// StableLabels select the stable revision's pods when Ramp does not
	// run them: a Deployment's run in place, whose pods carry its
	// pod-template-hash and no revision label of Ramp's, or a
	// StatefulSet's, by its controller-revision-hash. Nil: the pods
	// with Stable as their revision label.
	StableLabels map[string]string
	// CanaryLabels select the canary revision's pods when Ramp does not
	// run them: a StatefulSet's, by its controller-revision-hash. Nil: the
	// pods with Canary as their revision label.
	CanaryLabels map[string]string
	// Weight is the canary's share.
	Weight rampv1.Weight
	// Routes send the requests they match to the canary whatever the
	// weight (header and cookie routes; Gateway API and Istio).
	Routes []rampv1.Route
	// Rest is true between canaries once the old revision is gone:
	// routers then take back what they add only for a canary (Istio's
	// subset labels), leaving the objects as they were apart from weights.
	Rest bool
	// Drain is when the canary side's weight went to 0 from above, while
	// proxies may still act on the old weight; zero otherwise. It is
	// recorded with the weights (AnnotationWeight), in the same write, so
	// that a pass that ends before its status write does not forget it.
	Drain time.Time
}

// StableSelector is the labels that select the stable revision's pods.
func (t Target) StableSelector() map[string]string {
	if t.StableLabels != nil {
		return t.StableLabels
	}
	return map[string]string{rampv1.LabelRevision: t.Stable}
}

// CanarySelector is the labels that select the canary revision's pods.
func (t Target) CanarySelector() map[string]string {
	if t.CanaryLabels != nil {
		return t.CanaryLabels
	}
	return map[string]string{rampv1.LabelRevision: t.Canary}
}

// Reading is what a router reads back.
type Reading struct {
	// Weight is the canary's share the routing objects give it now.
	Weight rampv1.Weight
	// Written is what Ramp last wrote, recorded on the routing object in
	// the same write as the weights (AnnotationWeight). It survives a
	// controller killed before its status write, and tells a hand edit
	// (weights that differ from it) from Ramp's own work. Nil when the
	// object carries no record.
	Written *Written
	// Routes counts Ramp's header, cookie and mirror routes the objects
	// hold: they send the canary requests whatever its weight.
	Routes int
	// Generation is the metadata.generation of the object that holds the
	// weights.
	Generation int64
	// Applied is the generation of that object its implementation reports
	// every proxy runs, when it Reports: an HTTPRoute's status.parents
	// conditions, Istio's status with its reporting on. Ramp then waits for
	// the report rather than for a delay.
	Applied int64
	Reports bool
	// Stable: the objects send the stable side's traffic to Ramp's stable
	// Service already (routers that route through Ramp's Services): Ramp
	// has routed them before.
	Stable bool
}

// Written is Ramp's record of its last weight on a routing object.
type Written struct {
	Weight rampv1.Weight
	// Canary is the revision the weight was for.
	Canary string
	// Promoted: the write pointed the stable side at Canary too (a
	// promotion; Weight is 0). A pass that wrote a canary's promotion and
	// lost its status write leaves this behind, so that the next pass
	// promotes rather than redoing the last step.
	Promoted bool
	// Drain is Target.Drain as written.
	Drain time.Time
}

// AnnotationWeight, on a routing object, records the canary weight Ramp
// last wrote and its revision, "25/6ff4cd9669", and for a zero weight
// that is draining, since when: "0/6ff4cd9669/2026-12-05T17:10:09.123456Z".
// A promotion (both sides on one revision) is "promoted/6ff4cd9669".
const AnnotationWeight = "ramp.dev/canary-weight"

// promoted stands for the weight in the record of a promotion.
const promoted = "promoted"

// MarkWritten records t on obj's annotations, or removes the record at
// rest, and reports whether that changed them.
func MarkWritten(obj metav1.Object, t Target) bool {
	a := obj.GetAnnotations()
	weight := t.Weight.String()
	if t.Stable == t.Canary {
		weight = promoted
	}
	want := weight + "/" + t.Canary
	if !t.Drain.IsZero() {
		want += "/" + t.Drain.UTC().Format(time.RFC3339Nano)
	}
	if t.Rest {
		want = ""
	}
	if a[AnnotationWeight] == want {
		return false
	}
	if want == "" {
		delete(a, AnnotationWeight)
	} else {
		if a == nil {
			a = map[string]string{}
		}
		a[AnnotationWeight] = want
	}
	obj.SetAnnotations(a)
	return true
}

// ReadWritten returns the record MarkWritten left on obj, if any.
func ReadWritten(obj metav1.Object) *Written {
	parts := strings.SplitN(obj.GetAnnotations()[AnnotationWeight], "/", 3)
	if len(parts) < 2 {
		return nil
	}
	w := &Written{Canary: parts[1], Promoted: parts[0] == promoted}
	if !w.Promoted {
		weight, err := rampv1.ParseWeight(parts[0])
		if err != nil {
			return nil
		}
		w.Weight = weight
	}
	if len(parts) == 3 {
		// A time that does not parse drains from the zero time: over.
		w.Drain, _ = time.Parse(time.RFC3339Nano, parts[2])
	}
	return w
}

// WeightFirst reports whether the weight must be written before the
// Services or subsets are re-pointed, when going from the canary weight
// now in place to t. Traffic must never reach a revision that lacks the
// pods for it: a canary weight going down (a rollback, a lower step, a
// canary replaced by a newer one, whose Service is about to point at a
// revision with no pods yet) is written first. A promotion (t.Stable ==
// t.Canary) re-points first: the stable Service moves to the promoted
// revision, already at full scale, before the weights return to it.
func WeightFirst(now rampv1.Weight, t Target) bool {
	return t.Stable != t.Canary && t.Weight < now
}

// DescribeRoutes names the header and cookie routes in force, for events:
// "; routes testers, beta to the canary", or "" with none.
func DescribeRoutes(routes []rampv1.Route) string {
	if len(routes) == 0 {
		return ""
	}
	names := make([]string, len(routes))
	for i, r := range routes {
		names[i] = r.Name
	}
	return "; routes " + strings.Join(names, ", ") + " to the canary"
}

// Change is one write a router made to bring an object to its target.
type Change struct {
	// Object names what was written, e.g. "TrafficSplit web".
	Object string
	// Written is the object as written, for the Event's related object.
	Written client.Object
	// Created is true when the object was missing.
	Created bool
	// Detail says what changed, for events.
	Detail string
}

// Router shapes traffic for one Rollout.
type Router interface {
	// Replicas returns how many pods each revision runs while the canary
	// is asked to take weight w, out of the Rollout's replicas.
	Replicas(replicas int32, w rampv1.Weight) (canary, stable int32)

	// SetWeight makes the routing objects send t.Weight to the canary
	// revision and the rest to the stable one. It creates what is missing
	// and puts back what was edited by hand, writing only what differs;
	// it returns the writes it made that change where traffic goes (not
	// those of Ramp's record alone, AnnotationWeight).
	SetWeight(ctx context.Context, t Target) ([]Change, error)

	// Verify reads back the weight the routing objects give the canary,
	// what Ramp last wrote there, and what their implementation reports
	// having applied. Pod ratio has no routing object: its weight is the
	// pods' (PodShare).
	Verify(ctx context.Context) (Reading, error)

	// Cleanup runs before the Rollout is deleted: objects Ramp does not own
	// are given back working without Ramp's stable and canary Services,
	// which go with the Rollout, and without Ramp's additions.
	Cleanup(ctx context.Context) ([]Change, error)
}

// ConfigError is a router fault the user must fix: a missing root Service,
// a route rule that does not exist. The controller reports it in status and
// events, keeps whatever runs running, and looks again at the next change
// of the Rollout or its routing objects, or after a while (the fix may be
// to objects it does not watch), instead of retrying at once.
type ConfigError struct {
	Reason  string // CamelCase, for the condition
	Message string // names the field or object and the fix
}

func (e *ConfigError) Error() string { return e.Message }

// Int64 reads an integer field of an unstructured object as the API
// server's JSON gives it (int64), as plain JSON does (float64), or as
// protobuf's JSON writes an int64 (a string); 0 otherwise.
func Int64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

// NoRoutes is the fault of a header or cookie route given to a router
// that cannot route by headers; admission refuses such a spec.
func NoRoutes() error {
	return Configf("RoutesNotSupported",
		"spec.strategy.canary.steps: setHeaderRoute and setCookieRoute need trafficRouting.gatewayAPI or trafficRouting.istio")
}

// Configf builds a ConfigError.
func Configf(reason, format string, args ...any) error {
	return &ConfigError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}
