package rollout_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

var replicaSetGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}

// specReplicas reads a ReplicaSet's spec.replicas from a recorded write.
func specReplicas(u *unstructured.Unstructured) int64 {
	n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	return n
}

// TestAbortDrainsBeforePodsGo: an abort writes the canary's weight 0 at
// once and records the drain with it; the canary keeps its pods for
// abortScaleDownDelaySeconds (no implementation reports here), then loses
// them. With the delay at 0, the pods go at once: the measurement can tell.
func TestAbortDrainsBeforePodsGo(t *testing.T) {
	cases := meshCases()
	for _, mc := range cases {
		for _, delay := range []int32{3, 0} {
			if delay == 0 && mc.name != "smi" {
				continue
			}
			t.Run(fmt.Sprintf("%s/delay %ds", mc.name, delay), func(t *testing.T) {
				t.Parallel()
				e := fixture.New(t)
				e.StartController()
				meshRolloutWith(t, e, mc, func(ro *rampv1.Rollout) {
					ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = ptr.To(delay)
				}, fixture.SetWeight(25), fixture.Pause(0))
				weights, rss := e.Record(mc.gvk), e.Record(replicaSetGVK)
				e.SetImage("web", "web:v2")
				e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
				abortRV := e.Request("web", rampv1.AnnotationAbort)
				got := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)

				zero, ok := weights.FirstWriteAfter(mc.object, abortRV, func(u *unstructured.Unstructured) bool { return mc.weights(u) == "100:0" })
				if !ok {
					t.Fatal("no weight 0 written after the abort")
				}
				if rec := traffic.ReadWritten(zero.Object); delay > 0 && (rec == nil || rec.Drain.IsZero()) {
					t.Errorf("the zero weight carries no drain record: %v", zero.Object.GetAnnotations())
				}
				down, ok := rss.FirstWriteAfter("web-"+got.Status.CanaryRevision, abortRV, func(u *unstructured.Unstructured) bool { return specReplicas(u) == 0 })
				if !ok {
					t.Fatal("the canary was not scaled down")
				}
				held := down.Seen.Sub(zero.Seen)
				t.Logf("weight 0 seen at %s, canary scaled to 0 %s later", zero.Seen.Format(time.StampMilli), held)
				switch {
				case down.Revision < zero.Revision:
					t.Errorf("the canary lost its pods before its weight went to 0")
				case delay > 0 && held < time.Duration(delay)*time.Second-100*time.Millisecond:
					t.Errorf("the canary kept its pods %s after its weight 0; want abortScaleDownDelaySeconds (%ds)", held, delay)
				case delay == 0 && held > time.Second:
					t.Errorf("with no delay the canary kept its pods %s", held)
				}
				if delay > 0 {
					e.WaitForEvents("web", "Aborted", "TrafficDrained")
				}
			})
		}
	}
}

// setParentsStatus writes an HTTPRoute's status as a Gateway API
// implementation would, each parent accepted at generation.
func setParentsStatus(t *testing.T, e *fixture.Env, name string, generation int64) {
	t.Helper()
	route := e.GetObject(httpRouteGVK, name)
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	var statuses []any
	for _, p := range parents {
		statuses = append(statuses, map[string]any{
			"parentRef": p, "controllerName": "example.com/gateway",
			"conditions": []any{map[string]any{
				"type": "Accepted", "status": "True", "reason": "Accepted", "message": "programmed",
				"observedGeneration": generation, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}},
		})
	}
	route.Object["status"] = map[string]any{"parents": statuses}
	if err := e.C.Status().Update(context.Background(), route); err != nil {
		t.Fatal(err)
	}
}

// TestDrainEndsOnReport plays a Gateway API implementation: after an
// abort the canary keeps its pods while the route's status reports an
// older generation (abortScaleDownDelaySeconds is long), and loses them as
// soon as it reports the generation that holds the zero weight.
func TestDrainEndsOnReport(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	got := gatewayCanary(t, e, 600, func() { setParentsStatus(t, e, "web", e.GetObject(httpRouteGVK, "web").GetGeneration()) })
	canaryRS := "web-" + got.Status.CanaryRevision

	e.Request("web", rampv1.AnnotationAbort)
	var zeroGeneration int64
	clustertest.Eventually(t, fixture.Wait, "the weight 0", func(context.Context) (bool, string) {
		route := e.GetObject(httpRouteGVK, "web")
		zeroGeneration = route.GetGeneration()
		return httpRouteWeights(route) == "100:0", httpRouteWeights(route)
	})
	// An older generation reported: the pods stay, for as long as we look.
	setParentsStatus(t, e, "web", zeroGeneration-1)
	e.AssertQuiet(3*time.Second, replicaSetGVK)
	if n := replicasOf(t, e, canaryRS); n != 1 {
		t.Fatalf("the canary has %d pods before the zero weight is reported applied; want 1", n)
	}
	setParentsStatus(t, e, "web", zeroGeneration)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
	e.WaitForEvents("web", "Aborted", "TrafficDrained")
}

// TestDrainUnconfirmed: an implementation that reports, but not the
// generation that holds the zero weight within abortScaleDownDelaySeconds,
// does not hold the canary's pods forever: they go after the delay, and a
// Warning says so.
func TestDrainUnconfirmed(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	gatewayCanary(t, e, 2, func() { setParentsStatus(t, e, "web", 1) }) // and never again
	e.Request("web", rampv1.AnnotationAbort)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
	e.WaitForEvents("web", "Aborted", "DrainUnconfirmed")
}

// gatewayCanary runs a Gateway API Rollout with abortScaleDownDelaySeconds
// delay, lets report write the route's status, and waits for a canary of
// v2 at 25%.
func gatewayCanary(t *testing.T, e *fixture.Env, delay int32, report func()) *rampv1.Rollout {
	t.Helper()
	e.StartController()
	meshRolloutWith(t, e, meshCases()[1], func(ro *rampv1.Rollout) {
		ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = ptr.To(delay)
	}, fixture.SetWeight(25), fixture.Pause(0))
	e.SetImage("web", "web:v2")
	got := e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
	report()
	return got
}

// TestFirstWeightWaitsForEndpoints: the canary gets its first share of
// traffic only endpointPropagationSeconds after its pods are available
// behind the canary Service; at 0, at once.
func TestFirstWeightWaitsForEndpoints(t *testing.T) {
	mc := meshCases()[0] // smi
	for _, seconds := range []int32{3, 0} {
		t.Run(fmt.Sprintf("%ds", seconds), func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			meshRolloutWith(t, e, mc, func(ro *rampv1.Rollout) {
				ro.Spec.Strategy.Canary.EndpointPropagationSeconds = ptr.To(seconds)
			}, fixture.SetWeight(25), fixture.Pause(0))
			weights, rss := e.Record(mc.gvk), e.Record(replicaSetGVK)
			since := e.Update("web", func(ro *rampv1.Rollout) { ro.Spec.Template.Spec.Containers[0].Image = "web:v2" })
			got := e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
			available, ok := rss.FirstWriteAfter("web-"+got.Status.CanaryRevision, since, func(u *unstructured.Unstructured) bool {
				n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
				return n > 0
			})
			if !ok {
				t.Fatal("the canary's pod never became available")
			}
			first, ok := weights.FirstWriteAfter(mc.object, since, func(u *unstructured.Unstructured) bool { return mc.weights(u) == "75:25" })
			if !ok {
				t.Fatal("no weight written")
			}
			waited := first.Seen.Sub(available.Seen)
			t.Logf("the canary's pod available, then its first weight %s later", waited)
			if first.Revision < available.Revision {
				t.Fatalf("weight before the canary's pod was available")
			}
			if seconds > 0 && waited < time.Duration(seconds)*time.Second-100*time.Millisecond {
				t.Errorf("first weight %s after the canary's pods; want endpointPropagationSeconds (%ds)", waited, seconds)
			}
			if seconds == 0 && waited > time.Second {
				t.Errorf("with no propagation delay the first weight took %s", waited)
			}
		})
	}
}

func replicasOf(t *testing.T, e *fixture.Env, name string) int64 {
	t.Helper()
	u := e.GetObject(replicaSetGVK, name)
	return specReplicas(u)
}
