package gatewayapi

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestPlaceRoutes: Ramp's rule comes after the user's, with the managed
// rule's matches (the route's headers added), filters and the canary's
// backendRef; the user's rules stay byte for byte, and the managed rules
// are found again without Ramp's.
func TestPlaceRoutes(t *testing.T) {
	r := router()
	route := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`{metadata: {name: web}, spec: {rules: [
	  {name: health, matches: [{path: {type: Exact, value: /healthz}}], backendRefs: [{name: health, port: 80}]},
	  {name: main, matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-team, value: a}]}],
	   filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-via, value: mesh}]}}],
	   backendRefs: [{name: web-stable, port: 8080, weight: 90}, {name: web-canary, port: 8080, weight: 10}]}]}}`), &route.Object); err != nil {
		t.Fatal(err)
	}
	route.Object = runtimeJSON(route.Object).(map[string]any)
	before, _ := json.Marshal(route.Object["spec"])
	rules, managed, err := r.managedRules(route)
	if err != nil || len(managed) != 1 || managed[0] != 1 {
		t.Fatalf("managed %v, %v", managed, err)
	}
	placed := r.placeRoutes(rules, managed, rampv1.RoutesAt([]rampv1.Step{
		{SetHeaderRoute: &rampv1.HeaderRoute{Name: "testers", Match: []rampv1.HeaderMatch{{Name: "X-Canary", Value: rampv1.StringMatch{Prefix: ptr.To("y")}}}}},
		{SetCookieRoute: &rampv1.CookieRoute{Name: "beta", Cookie: "beta", Value: &rampv1.StringMatch{Exact: ptr.To("1")}}},
	}, 1))
	want := refs(t, `[
	  {name: health, matches: [{path: {type: Exact, value: /healthz}}], backendRefs: [{name: health, port: 80}]},
	  {name: main, matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-team, value: a}]}],
	   filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-via, value: mesh}]}}],
	   backendRefs: [{name: web-stable, port: 8080, weight: 90}, {name: web-canary, port: 8080, weight: 10}]},
	  {name: ramp-testers, matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-team, value: a},
	     {name: X-Canary, type: RegularExpression, value: "y.*"}]}],
	   filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-via, value: mesh}]}}],
	   backendRefs: [{name: web-canary, port: 8080, weight: 1}]},
	  {name: ramp-beta, matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-team, value: a},
	     {name: cookie, type: RegularExpression, value: '(?:.*;\s*)?beta=(?:1)(?:;.*)?'}]}],
	   filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-via, value: mesh}]}}],
	   backendRefs: [{name: web-canary, port: 8080, weight: 1}]}]`)
	if !equality.Semantic.DeepEqual(placed, want) {
		t.Errorf("placed:\n got %v\nwant %v", placed, want)
	}
	if after, _ := json.Marshal(route.Object["spec"]); string(after) != string(before) {
		t.Errorf("the user's rules changed:\n%s\n%s", before, after)
	}
	route.Object["spec"].(map[string]any)["rules"] = placed
	again, managed, err := r.managedRules(route)
	if err != nil || len(again) != 2 || len(managed) != 1 || managed[0] != 1 {
		t.Errorf("managed rules among Ramp's: %d rules, %v, %v; want the user's 2 and rule 1", len(again), managed, err)
	}
}

// TestPlaceMirror: a mirror rule goes first (equal matches: the first rule
// wins), with the managed rule's weighted backendRefs and a RequestMirror
// filter to the canary Service.
func TestPlaceMirror(t *testing.T) {
	r := router()
	rules := refs(t, `[{name: main, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-via, value: mesh}]}}],
	  backendRefs: [{name: web-stable, port: 8080, weight: 90}, {name: web-canary, port: 8080, weight: 10}]}]`)
	placed := r.placeRoutes(rules, []int{0}, []rampv1.Route{{Name: "shadow", Mirror: 25}})
	want := refs(t, `[
	  {name: ramp-shadow, matches: [{}],
	   filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-via, value: mesh}]}},
	             {type: RequestMirror, requestMirror: {backendRef: {group: "", kind: Service, name: web-canary, port: 8080}, percent: 25}}],
	   backendRefs: [{name: web-stable, port: 8080, weight: 90}, {name: web-canary, port: 8080, weight: 10}]},
	  {name: main, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-via, value: mesh}]}}],
	   backendRefs: [{name: web-stable, port: 8080, weight: 90}, {name: web-canary, port: 8080, weight: 10}]}]`)
	if !equality.Semantic.DeepEqual(placed, want) {
		t.Errorf("placed:\n got %v\nwant %v", placed, want)
	}
}
