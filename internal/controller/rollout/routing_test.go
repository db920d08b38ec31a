package rollout_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestRouters takes each router through a full canary and a rollback,
// watching every write: the weights at every step, the stable Service (or
// subset) re-pointed before the weights reset on promotion, the weight
// set to 0 before the canary loses a pod on abort.
func TestRouters(t *testing.T) {
	for _, mc := range meshCases() {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			meshRollout(t, e, mc, fixture.SetWeight(25), fixture.Pause(0), fixture.SetWeight(50), fixture.Pause(0))
			// Watches list what exists first, so they see the state at rest.
			weights := e.Record(mc.gvk)
			stable := e.Record(mc.stableOf.gvk)
			replicaSets := e.Record(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"})
			v1 := e.Get("web").Status.StableRevision

			e.SetImage("web", "web:v2")
			// The stable revision keeps all its pods; the canary runs its
			// share, at least one.
			got := e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
			if got.Status.Weight.Reached != rampv1.Percent(25) {
				t.Errorf("at step 1: weight %+v", got.Status.Weight)
			}
			if w := mc.weights(e.GetObject(mc.gvk, mc.object)); w != "75:25" {
				t.Errorf("at 25%%, %s weights are %s, want 75:25", mc.gvk.Kind, w)
			}
			e.Request("web", rampv1.AnnotationPromote)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:4 2:2"}, fixture.Wait)
			promoteRV := e.Request("web", rampv1.AnnotationPromote)
			got = e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
			v2 := got.Status.StableRevision
			if v1 == v2 {
				t.Fatal("no new stable revision")
			}
			if seq := weights.Values(mc.object, mc.weights); !slices.Equal(seq, []string{"100:0", "75:25", "50:50", "100:0"}) {
				t.Errorf("weights went %q, want 100:0, 75:25, 50:50, 100:0", seq)
			}
			// Revisions order writes across objects (etcd's revision).
			repointed := stable.FirstAfter(mc.stableOf.name, promoteRV, func(u *unstructured.Unstructured) bool { return mc.stableOf.read(u) == v2 })
			reset := weights.FirstAfter(mc.object, promoteRV, func(u *unstructured.Unstructured) bool { return mc.weights(u) == "100:0" })
			if repointed < 0 || reset < 0 || repointed > reset {
				t.Errorf("promotion order: stable re-pointed to v2 at revision %d, weights reset at %d; want the re-point first", repointed, reset)
			}

			// Rollback: the first write is the weight.
			e.SetImage("web", "web:v3")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:0 2:4 3:1"}, fixture.Wait)
			abortRV := e.Request("web", rampv1.AnnotationAbort)
			got = e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:0 2:4 3:0"}, fixture.Wait)
			if got.Status.Weight.Reached != 0 {
				t.Errorf("after abort: weight %+v", got.Status.Weight)
			}
			zero := weights.FirstAfter(mc.object, abortRV, func(u *unstructured.Unstructured) bool { return mc.weights(u) == "100:0" })
			scaledDown := replicaSets.FirstAfter("web-"+got.Status.CanaryRevision, abortRV, func(u *unstructured.Unstructured) bool {
				n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
				return n == 0
			})
			if zero < 0 || scaledDown < 0 || zero > scaledDown {
				t.Errorf("rollback order: weight 0 at revision %d, canary scaled down at %d; want the weight first", zero, scaledDown)
			}

			// Every write that changed the routing object's spec is told,
			// with the object as written as the Event's related object,
			// and no other: a write of Ramp's record of the weight alone
			// moves no traffic.
			writes := weights.Writes(mc.object)
			var changed, recordOnly []string // resourceVersions
			for i := 1; i < len(writes); i++ {
				rv := writes[i].Object.GetResourceVersion()
				if fmt.Sprint(writes[i].Object.Object["spec"]) != fmt.Sprint(writes[i-1].Object.Object["spec"]) {
					changed = append(changed, rv)
				} else {
					recordOnly = append(recordOnly, rv)
				}
			}
			clustertest.Eventually(t, 10*time.Second, "an Event for each change", func(context.Context) (bool, string) {
				told := routeEvents(e, mc.gvk.Kind, mc.object)
				for _, rv := range changed {
					if told[rv] == "" {
						return false, fmt.Sprintf("the write at %s is not told; told %v", rv, told)
					}
				}
				for _, rv := range recordOnly {
					if told[rv] != "" {
						return false, fmt.Sprintf("the write at %s only recorded the weight, and is told: %s", rv, told[rv])
					}
				}
				return true, ""
			})
		})
	}
}

// TestFractionalWeights sends 0.1% to the canary through each router and
// checks the exact weights written: relative integers (999:1) where the API
// takes integers, quantities where SMI v1alpha1 takes them.
func TestFractionalWeights(t *testing.T) {
	v1alpha1 := trafficSplitGVK
	v1alpha1.Version = "v1alpha1"
	cases := append(meshCases(), meshCase{
		name:    "smi-v1alpha1",
		routing: rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{APIVersion: "split.smi-spec.io/v1alpha1"}},
		gvk:     v1alpha1,
		object:  "web",
		weights: backendWeights("spec", "backends"),
	})
	want := map[string]string{"smi": "999:1", "gatewayapi": "999:1", "istio": "999:1", "smi-v1alpha1": "99900m:100m"}
	for _, mc := range cases {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			meshRollout(t, e, mc, rampv1.Step{SetWeight: ptrTo(rampv1.Weight(100))}, fixture.Pause(0))
			e.SetImage("web", "web:v2")
			got := e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
			if got.Status.Weight.Asked.String() != "0.1" || got.Status.Weight.Reached.String() != "0.1" {
				t.Errorf("status weight %+v, want 0.1 asked and reached", got.Status.Weight)
			}
			if w := mc.weights(e.GetObject(mc.gvk, mc.object)); w != want[mc.name] {
				t.Errorf("%s weights at 0.1%%: %s, want %s", mc.gvk.Kind, w, want[mc.name])
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// setEach sets the weight of every entry of a list to 50.
func setEach(path ...string) func(*unstructured.Unstructured) {
	list := path[:len(path)-1]
	return func(u *unstructured.Unstructured) {
		items, _, _ := unstructured.NestedSlice(u.Object, list...)
		for _, it := range items {
			it.(map[string]any)["weight"] = int64(50)
		}
		_ = unstructured.SetNestedSlice(u.Object, items, list...)
	}
}

// TestDriftRepairAndCleanup edits the weights by hand mid-canary and
// deletes what Ramp created: Ramp puts the weights back and recreates the
// objects. Deleting the Rollout deletes what Ramp created and gives the
// Istio objects back as they were, apart from the weights.
func TestDriftRepairAndCleanup(t *testing.T) {
	for _, mc := range meshCases() {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			originals := meshRollout(t, e, mc, fixture.SetWeight(25), fixture.Pause(0))
			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)

			weightsAre := func(want string) func(context.Context) (bool, string) {
				return func(ctx context.Context) (bool, string) {
					u := &unstructured.Unstructured{}
					u.SetGroupVersionKind(mc.gvk)
					if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: mc.object}, u); err != nil {
						return false, err.Error()
					}
					got := mc.weights(u)
					return got == want, got
				}
			}
			obj := e.GetObject(mc.gvk, mc.object)
			mc.halve(obj)
			if err := e.C.Update(context.Background(), obj); err != nil {
				t.Fatal(err)
			}
			clustertest.Eventually(t, fixture.Wait, "the hand-edited weights to be put back", weightsAre("75:25"))
			e.WaitForEvents("web", "RouteRepaired")

			if mc.owned {
				if err := e.C.Delete(context.Background(), e.GetObject(mc.gvk, mc.object)); err != nil {
					t.Fatal(err)
				}
				clustertest.Eventually(t, fixture.Wait, "the deleted "+mc.gvk.Kind+" to be recreated", weightsAre("75:25"))
				e.WaitForEvents("web", "RouteRecreated")
			}

			if err := e.C.Delete(context.Background(), e.Get("web")); err != nil {
				t.Fatal(err)
			}
			clustertest.Eventually(t, fixture.Wait, "the Rollout and what it created to be gone", func(ctx context.Context) (bool, string) {
				var left []string
				for _, o := range []struct {
					gvk  schema.GroupVersionKind
					name string
				}{{rolloutGVK, "web"}, {serviceGVK, "web-stable"}, {serviceGVK, "web-canary"}, {mc.gvk, mc.object}} {
					if o.gvk == mc.gvk && !mc.owned {
						continue
					}
					u := &unstructured.Unstructured{}
					u.SetGroupVersionKind(o.gvk)
					if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: o.name}, u); err == nil {
						left = append(left, o.gvk.Kind+"/"+o.name)
					}
				}
				return len(left) == 0, fmt.Sprint("left: ", left)
			})
			for _, orig := range originals {
				now := e.GetObject(orig.GroupVersionKind(), orig.GetName())
				if diff := specDiff(orig, now); diff != "" {
					t.Errorf("%s %s is not as it was before the canary:\n%s", orig.GetKind(), orig.GetName(), diff)
				}
			}
		})
	}
}

var rolloutGVK = rampv1.GroupVersion.WithKind("Rollout")

// specDiff compares two objects' specs, ignoring route weights (which rest
// at 100% stable) and annotations Ramp removed.
func specDiff(before, after *unstructured.Unstructured) string {
	strip := func(u *unstructured.Unstructured) string {
		spec := runtime.DeepCopyJSONValue(u.Object["spec"]).(map[string]any)
		http, _, _ := unstructured.NestedSlice(spec, "http")
		for _, r := range http {
			dests, _, _ := unstructured.NestedSlice(r.(map[string]any), "route")
			for _, d := range dests {
				delete(d.(map[string]any), "weight")
			}
			r.(map[string]any)["route"] = dests
		}
		if http != nil {
			spec["http"] = http
		}
		out, _ := yaml.Marshal(spec)
		return string(out)
	}
	if a, b := strip(before), strip(after); a != b {
		return "before:\n" + a + "after:\n" + b
	}
	if len(after.GetAnnotations()) > len(before.GetAnnotations()) {
		return fmt.Sprintf("annotations left: %v", after.GetAnnotations())
	}
	return ""
}

const userHTTPRoute = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
  rules:
  - name: api
    matches: [{path: {type: PathPrefix, value: /api}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-route, value: api}]}}]
    backendRefs: [{name: web, port: 80}]
  - name: static
    matches: [{path: {type: PathPrefix, value: /static}}]
    backendRefs: [{name: web, port: 80}]
`

// TestHTTPRouteEditsOnlyItsRules: in a route the user owns, Ramp edits only
// the backendRefs of the rule it is told to manage; the other rule, and the
// matches and filters, stay as they are. Deleting the Rollout points the
// rule back at the root Service.
func TestHTTPRouteEditsOnlyItsRules(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	createRootService(e)
	route := parse(t, userHTTPRoute)
	route.SetNamespace(e.NS)
	e.Create(route)
	original := e.GetObject(httpRouteGVK, "shop")

	ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0))
	ro.Spec.Service = "web"
	ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{GatewayAPI: &rampv1.GatewayAPIRouting{HTTPRoute: "shop", Rules: []string{"api"}}}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)

	now := e.GetObject(httpRouteGVK, "shop")
	rules, _, _ := unstructured.NestedSlice(now.Object, "spec", "rules")
	origRules, _, _ := unstructured.NestedSlice(original.Object, "spec", "rules")
	if w := httpRouteWeights(now); w != "75:25" {
		t.Errorf("rule api weights %s, want 75:25", w)
	}
	api, origAPI := rules[0].(map[string]any), origRules[0].(map[string]any)
	for _, field := range []string{"matches", "filters", "name"} {
		if fmt.Sprint(api[field]) != fmt.Sprint(origAPI[field]) {
			t.Errorf("rule api %s changed: %v → %v", field, origAPI[field], api[field])
		}
	}
	if fmt.Sprint(rules[1]) != fmt.Sprint(origRules[1]) {
		t.Errorf("rule static changed:\n%v\n%v", origRules[1], rules[1])
	}

	if err := e.C.Delete(context.Background(), e.Get("web")); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, fixture.Wait, "the route given back", func(ctx context.Context) (bool, string) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(httpRouteGVK)
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "shop"}, u); err != nil {
			return false, err.Error()
		}
		return specDiff(original, u) == "", specDiff(original, u)
	})
}

// TestCanaryScaleFullAndServiceNames: with canaryScale Full the canary runs
// all replicas from its first step; the Services take the names given.
func TestCanaryScaleFullAndServiceNames(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	createRootService(e)
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(10), fixture.Pause(0))
	ro.Spec.Service = "web"
	ro.Spec.Strategy.Canary.CanaryScale = rampv1.CanaryScaleFull
	ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{
		SMI:               &rampv1.SMIRouting{TrafficSplitName: "web-split"},
		StableServiceName: "web-primary",
		CanaryServiceName: "web-next",
	}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	got := e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:4"}, fixture.Wait)
	ts := e.GetObject(trafficSplitGVK, "web-split")
	backends, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
	if fmt.Sprint(backends) != "[map[service:web-primary weight:90] map[service:web-next weight:10]]" {
		t.Errorf("backends %v", backends)
	}
	for name, rev := range map[string]string{"web-primary": got.Status.StableRevision, "web-next": got.Status.CanaryRevision} {
		svc := e.GetObject(serviceGVK, name)
		if sel, _, _ := unstructured.NestedString(svc.Object, "spec", "selector", rampv1.LabelRevision); sel != rev {
			t.Errorf("Service %s selects revision %q, want %q", name, sel, rev)
		}
	}
}

// TestAtRestNothingChurns: once a Rollout is Healthy after a canary,
// neither it nor anything it owns or routes with is written again for 30
// seconds, with each router.
func TestAtRestNothingChurns(t *testing.T) {
	cases := append([]meshCase{{name: "podratio"}}, meshCases()...)
	for _, mc := range cases {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			kinds := []schema.GroupVersionKind{rolloutGVK, {Group: "apps", Version: "v1", Kind: "ReplicaSet"}}
			atStep1 := "1:4 2:1" // a mesh keeps the stable revision whole
			if mc.routing == (rampv1.TrafficRouting{}) {
				atStep1 = "1:3 2:1"
				e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0)))
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
			} else {
				meshRollout(t, e, mc, fixture.SetWeight(25), fixture.Pause(0))
				kinds = append(kinds, serviceGVK, mc.gvk)
				if mc.stableOf.gvk != serviceGVK {
					kinds = append(kinds, mc.stableOf.gvk)
				}
			}
			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: atStep1}, fixture.Wait)
			e.Request("web", rampv1.AnnotationPromote)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
			e.AssertQuiet(30*time.Second, kinds...)
		})
	}
}

// TestCanaryReplacedMidFlight: a new template while a canary holds 25% of
// the traffic. The old canary's weight must go to 0 before the canary
// Service (or subset) points at the new revision, which has no pods yet.
func TestCanaryReplacedMidFlight(t *testing.T) {
	for _, mc := range meshCases() {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			meshRollout(t, e, mc, fixture.SetWeight(25), fixture.Pause(0))
			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
			weights := e.Record(mc.gvk)
			canaryOf := e.Record(mc.stableOf.gvk)
			canaryName, readCanary := "web-canary", mc.stableOf.read
			if mc.stableOf.gvk == destinationRuleGVK {
				canaryName, readCanary = "web", func(u *unstructured.Unstructured) string { return subsetLabel(u, "canary") }
			}

			since := e.Update("web", func(ro *rampv1.Rollout) { ro.Spec.Template.Spec.Containers[0].Image = "web:v3" })
			got := e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:0 3:1"}, fixture.Wait)
			v3 := got.Status.CanaryRevision
			zero := weights.FirstAfter(mc.object, since, func(u *unstructured.Unstructured) bool { return mc.weights(u) == "100:0" })
			repointed := canaryOf.FirstAfter(canaryName, since, func(u *unstructured.Unstructured) bool { return readCanary(u) == v3 })
			if zero < 0 || repointed < 0 || zero > repointed {
				t.Errorf("weight 0 at revision %d, canary re-pointed to v3 at %d: want the weight first", zero, repointed)
			}
			if w := mc.weights(e.GetObject(mc.gvk, mc.object)); w != "75:25" {
				t.Errorf("v3 at step 1: weights %s, want 75:25", w)
			}
		})
	}
}
