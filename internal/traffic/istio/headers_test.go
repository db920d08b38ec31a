package istio

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func testers() rampv1.Route {
	return rampv1.Route{Name: "testers", Match: []rampv1.HeaderMatch{
		{Name: "X-Canary", Value: rampv1.StringMatch{Exact: ptr.To("yes")}},
		{Name: "x-region", Value: rampv1.StringMatch{Prefix: ptr.To("eu-")}},
	}}
}

// TestPlaceRoutes: Ramp's route goes right before the managed one, with
// the managed route's matches and options and the header matches added;
// the user's routes stay byte for byte; a new set of routes replaces it.
func TestPlaceRoutes(t *testing.T) {
	r := router("primary")
	vs := object(t, `{metadata: {name: web}, spec: {http: [
	  {name: health, match: [{uri: {exact: /healthz}}], route: [{destination: {host: web, subset: stable}}]},
	  {name: primary, match: [{uri: {prefix: /api}}, {uri: {prefix: /v2}, headers: {x-team: {exact: a}}}], timeout: 5s,
	   route: [{destination: {host: web, subset: stable}, weight: 90}, {destination: {host: web, subset: canary}, weight: 10}]}]}}`)
	users, _ := json.Marshal(vs.Object["spec"])
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	placed := r.placeRoutes(http, http[1].(map[string]any), []rampv1.Route{testers()})
	want := object(t, `{spec: {http: [
	  {name: health, match: [{uri: {exact: /healthz}}], route: [{destination: {host: web, subset: stable}}]},
	  {name: ramp-testers, timeout: 5s, route: [{destination: {host: web, subset: canary}}],
	   match: [{uri: {prefix: /api}, headers: {x-canary: {exact: "yes"}, x-region: {prefix: eu-}}},
	           {uri: {prefix: /v2}, headers: {x-team: {exact: a}, x-canary: {exact: "yes"}, x-region: {prefix: eu-}}}]},
	  {name: primary, match: [{uri: {prefix: /api}}, {uri: {prefix: /v2}, headers: {x-team: {exact: a}}}], timeout: 5s,
	   route: [{destination: {host: web, subset: stable}, weight: 90}, {destination: {host: web, subset: canary}, weight: 10}]}]}}`)
	wantHTTP, _, _ := unstructured.NestedSlice(want.Object, "spec", "http")
	if !equality.Semantic.DeepEqual(placed, wantHTTP) {
		t.Errorf("placed:\n got %v\nwant %v", placed, wantHTTP)
	}
	if after, _ := json.Marshal(vs.Object["spec"]); string(after) != string(users) {
		t.Errorf("the user's routes changed:\n%s\n%s", users, after)
	}
	// Placed again without routes (a rollback), Ramp's route goes.
	again := r.placeRoutes(placed, placed[2].(map[string]any), nil)
	if !equality.Semantic.DeepEqual(again, http) {
		t.Errorf("routes removed:\n got %v\nwant %v", again, http)
	}
	// The managed route is found among Ramp's, by name or as the only one.
	vs2 := object(t, `{metadata: {name: web}, spec: {http: []}}`)
	_ = unstructured.SetNestedSlice(vs2.Object, placed, "spec", "http")
	if i, err := r.routeIndex(vs2, placed); err != nil || i != 2 {
		t.Errorf("routeIndex = %d, %v; want 2", i, err)
	}
	single := []any{placed[1], placed[2]}
	if i, err := router("").routeIndex(vs2, single); err != nil || i != 1 {
		t.Errorf("routeIndex of the only user route = %d, %v; want 1", i, err)
	}
}

// TestPlaceMirror: a mirror route keeps the managed route's weighted
// destinations and mirrors its share to the canary subset; header routes
// come before it.
func TestPlaceMirror(t *testing.T) {
	r := router("primary")
	vs := object(t, `{spec: {http: [{name: primary, route: [
	  {destination: {host: web, subset: stable}, weight: 90}, {destination: {host: web, subset: canary}, weight: 10}]}]}}`)
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	placed := r.placeRoutes(http, http[0].(map[string]any), []rampv1.Route{{Name: "shadow", Mirror: 25}, testers()})
	want := object(t, `{spec: {http: [
	  {name: ramp-testers, route: [{destination: {host: web, subset: canary}}],
	   match: [{headers: {x-canary: {exact: "yes"}, x-region: {prefix: eu-}}}]},
	  {name: ramp-shadow, mirror: {host: web, subset: canary}, mirrorPercentage: {value: 25.0}, route: [
	    {destination: {host: web, subset: stable}, weight: 90}, {destination: {host: web, subset: canary}, weight: 10}]},
	  {name: primary, route: [{destination: {host: web, subset: stable}, weight: 90}, {destination: {host: web, subset: canary}, weight: 10}]}]}}`)
	wantHTTP, _, _ := unstructured.NestedSlice(want.Object, "spec", "http")
	if !equality.Semantic.DeepEqual(placed, wantHTTP) {
		t.Errorf("placed:\n got %v\nwant %v", placed, wantHTTP)
	}
}
