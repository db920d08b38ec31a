package istio

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// router is the Istio router of Rollout web: subsets stable and canary,
// the route named. These tests touch no cluster: the functions under test
// only edit objects.
func router(route string) *Router {
	ro := &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: rampv1.RolloutSpec{Service: "web"}}
	ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{Istio: &rampv1.IstioRouting{
		VirtualService:  rampv1.IstioVirtualService{Name: "web", HTTPRouteName: route},
		DestinationRule: rampv1.IstioDestinationRule{Name: "web", StableSubsetName: "stable", CanarySubsetName: "canary"},
	}}
	return New(traffic.Kube{}, ro)
}

// object reads YAML as the API server's JSON would: whole numbers int64.
func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: ints(m).(map[string]any)}
}

func ints(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = ints(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = ints(x[k])
		}
	case float64:
		return int64(x)
	}
	return v
}

func TestWeigh(t *testing.T) {
	for _, tc := range []struct {
		name, vs, want string
		split          traffic.Split
		rest           bool
	}{
		{
			name:  "a canary destination is added, as a copy of the stable one, and recorded",
			vs:    `{metadata: {name: web}, spec: {http: [{name: primary, route: [{destination: {host: web, subset: stable, port: {number: 80}}}]}]}}`,
			split: traffic.Split{Stable: 75, Canary: 25},
			want: `{metadata: {name: web, annotations: {ramp.dev/added-destination: primary}}, spec: {http: [{name: primary, route: [
			  {destination: {host: web, subset: stable, port: {number: 80}}, weight: 75},
			  {destination: {host: web, subset: canary, port: {number: 80}}, weight: 25}]}]}}`,
		},
		{
			name: "at rest the added destination goes again",
			vs: `{metadata: {name: web, annotations: {ramp.dev/added-destination: primary}}, spec: {http: [{name: primary, route: [
			  {destination: {host: web, subset: stable}, weight: 75}, {destination: {host: web, subset: canary}, weight: 25}]}]}}`,
			split: traffic.Split{Stable: 100},
			rest:  true,
			want:  `{metadata: {name: web}, spec: {http: [{name: primary, route: [{destination: {host: web, subset: stable}, weight: 100}]}]}}`,
		},
		{
			name: "a canary destination the user wrote stays at rest",
			vs: `{metadata: {name: web}, spec: {http: [{name: primary, route: [
			  {destination: {host: web, subset: stable}, weight: 90}, {destination: {host: web, subset: canary}, weight: 10}]}]}}`,
			split: traffic.Split{Stable: 100},
			rest:  true,
			want: `{metadata: {name: web}, spec: {http: [{name: primary, route: [
			  {destination: {host: web, subset: stable}, weight: 100}, {destination: {host: web, subset: canary}, weight: 0}]}]}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := router("primary")
			vs := object(t, tc.vs)
			route, err := r.route(vs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.weigh(vs, route, tc.split, tc.rest); err != nil {
				t.Fatal(err)
			}
			http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
			http[0] = route
			_ = unstructured.SetNestedSlice(vs.Object, http, "spec", "http")
			if want := object(t, tc.want); !equality.Semantic.DeepEqual(vs.Object, want.Object) {
				t.Errorf("weigh:\n got %v\nwant %v", vs.Object, want.Object)
			}
		})
	}
}

func TestWeighWithoutStableDestination(t *testing.T) {
	r := router("")
	vs := object(t, `{metadata: {name: web}, spec: {http: [{route: [{destination: {host: web, subset: v1}}]}]}}`)
	route, err := r.route(vs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.weigh(vs, route, traffic.Split{Stable: 100}, false); err == nil {
		t.Fatal("no error for a route without the stable subset")
	} else if cfg, ok := err.(*traffic.ConfigError); !ok || cfg.Reason != "DestinationNotFound" {
		t.Errorf("err = %v, want DestinationNotFound", err)
	}
}

func TestSubsets(t *testing.T) {
	r := router("primary")
	dr := object(t, `{metadata: {name: web}, spec: {host: web, subsets: [{name: stable, labels: {app: web}}, {name: other, labels: {v: x}}]}}`)
	r.labelSubsets(dr, traffic.Target{Stable: "aaa"}.StableSelector(), traffic.Target{Canary: "bbb"}.CanarySelector())
	labelled := object(t, `{metadata: {name: web, annotations: {ramp.dev/added-subset: canary}}, spec: {host: web, subsets: [
	  {name: stable, labels: {app: web, ramp.dev/revision: aaa}}, {name: other, labels: {v: x}}, {name: canary, labels: {ramp.dev/revision: bbb}}]}}`)
	if !equality.Semantic.DeepEqual(dr.Object, labelled.Object) {
		t.Errorf("labelSubsets:\n got %v\nwant %v", dr.Object, labelled.Object)
	}
	r.releaseSubsets(dr)
	released := object(t, `{metadata: {name: web}, spec: {host: web, subsets: [{name: stable, labels: {app: web}}, {name: other, labels: {v: x}}]}}`)
	if !equality.Semantic.DeepEqual(dr.Object, released.Object) {
		t.Errorf("releaseSubsets:\n got %v\nwant %v", dr.Object, released.Object)
	}
}

// TestSubsetsLeftByArgo: subsets Argo Rollouts pinned to its pod-template
// hash lose the hash (Ramp's new pods do not carry it) when Ramp pins them
// to its revisions, even to the revision already there.
func TestSubsetsLeftByArgo(t *testing.T) {
	r := router("primary")
	dr := object(t, `{metadata: {name: web}, spec: {host: web, subsets: [
	  {name: stable, labels: {app: web, rollouts-pod-template-hash: 6f9c, ramp.dev/revision: aaa}},
	  {name: canary, labels: {app: web, rollouts-pod-template-hash: 6f9c}}]}}`)
	if did := r.labelSubsets(dr, traffic.Target{Stable: "aaa"}.StableSelector(), traffic.Target{Canary: "aaa"}.CanarySelector()); did == "" {
		t.Error("labelSubsets reports no change")
	}
	want := object(t, `{metadata: {name: web}, spec: {host: web, subsets: [
	  {name: stable, labels: {app: web, ramp.dev/revision: aaa}}, {name: canary, labels: {app: web, ramp.dev/revision: aaa}}]}}`)
	if !equality.Semantic.DeepEqual(dr.Object, want.Object) {
		t.Errorf("labelSubsets:\n got %v\nwant %v", dr.Object, want.Object)
	}
}

func TestRouteIndex(t *testing.T) {
	two := object(t, `{metadata: {name: web}, spec: {http: [{name: health, match: [{}]}, {name: primary}]}}`)
	one := object(t, `{metadata: {name: web}, spec: {http: [{route: []}]}}`)
	for _, tc := range []struct {
		name  string
		route string
		vs    *unstructured.Unstructured
		want  int
		err   bool
	}{
		{"the named route", "primary", two, 1, false},
		{"no name and one route", "", one, 0, false},
		{"no name and two routes", "", two, 0, true},
		{"a name that is not there", "admin", two, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			http, _, _ := unstructured.NestedSlice(tc.vs.Object, "spec", "http")
			got, err := router(tc.route).routeIndex(tc.vs, http)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Errorf("routeIndex = %d, %v; want %d (error: %v)", got, err, tc.want, tc.err)
			}
		})
	}
}
