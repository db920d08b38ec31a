package gatewayapi

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/internal/traffic"
)

// router is the Gateway API router of Rollout web (root Service web), with
// the rules it manages named, if any. These tests touch no cluster: the
// functions under test only edit objects.
func router(rules ...string) *Router {
	ro := &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: rampv1.RolloutSpec{Service: "web"}}
	ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{GatewayAPI: &rampv1.GatewayAPIRouting{Rules: rules}}
	return New(traffic.Kube{Scheme: scheme.New()}, ro)
}

var root = &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}

func refs(t *testing.T, doc string) []any {
	t.Helper()
	var out []any
	if err := yaml.Unmarshal([]byte(doc), &out); err != nil {
		t.Fatal(err)
	}
	// As the API server's JSON reads them: whole numbers are int64.
	return runtimeJSON(out).([]any)
}

func runtimeJSON(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = runtimeJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = runtimeJSON(x[k])
		}
	case float64:
		return int64(x)
	}
	return v
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct{ name, have, want string }{
		{
			"the root Service becomes stable and canary, where it stood, its port and filters kept",
			`[{name: mirror, port: 9090, weight: 0}, {name: web, port: 8080, filters: [{type: RequestHeaderModifier}]}]`,
			`[{name: mirror, port: 9090, weight: 0},
			  {name: web-stable, port: 8080, weight: 75, filters: [{type: RequestHeaderModifier}]},
			  {name: web-canary, port: 8080, weight: 25, filters: [{type: RequestHeaderModifier}]}]`,
		},
		{
			"stable and canary already there: weights only",
			`[{name: web-stable, port: 80, weight: 100}, {name: web-canary, port: 80, weight: 0}, {name: other, port: 80}]`,
			`[{name: web-stable, port: 80, weight: 75}, {name: web-canary, port: 80, weight: 25}, {name: other, port: 80}]`,
		},
		{
			"a Service of another namespace is not ours",
			`[{name: web, namespace: elsewhere, port: 80}]`,
			`[{name: web, namespace: elsewhere, port: 80}, {name: web-stable, port: 80, weight: 75}, {name: web-canary, port: 80, weight: 25}]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := router().rewrite(refs(t, tc.have), root, traffic.Relative(rampv1.Percent(25)))
			if want := refs(t, tc.want); !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("rewrite:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestRelease(t *testing.T) {
	got := router().release(refs(t, `[{name: a, port: 1}, {name: web-stable, port: 80, weight: 75}, {name: web-canary, port: 80, weight: 25}]`))
	if want := refs(t, `[{name: a, port: 1}, {name: web, port: 80}]`); !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("release: got %v, want %v", got, want)
	}
}

func TestManagedRulesAndShare(t *testing.T) {
	route := func(doc string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		u.Object = runtimeJSON(u.Object).(map[string]any)
		return u
	}
	twoRules := route(`{metadata: {name: shop}, spec: {rules: [
	  {name: health, backendRefs: [{name: health, port: 80}]},
	  {name: api, backendRefs: [{name: web-stable, port: 80, weight: 3}, {name: web-canary, port: 80, weight: 1}]}]}}`)
	for _, tc := range []struct {
		name    string
		r       *Router
		route   *unstructured.Unstructured
		managed []int
		share   string
		err     string
	}{
		{"every rule naming our Services", router(), twoRules, []int{1}, "25", ""},
		{"the rules named", router("api"), twoRules, []int{1}, "25", ""},
		{"a named rule missing", router("api", "admin"), twoRules, nil, "", "RouteRuleNotFound"},
		{"no rule of ours", router(), route(`{metadata: {name: shop}, spec: {rules: [{backendRefs: [{name: health}]}]}}`), nil, "", "RouteRuleNotFound"},
		{"unset weights count as 1", router(), route(`{spec: {rules: [{backendRefs: [{name: web-stable}, {name: web-canary}]}]}}`), []int{0}, "50", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, managed, err := tc.r.managedRules(tc.route)
			if tc.err != "" {
				cfg, ok := err.(*traffic.ConfigError)
				if !ok || cfg.Reason != tc.err {
					t.Fatalf("err = %v, want a %s", err, tc.err)
				}
				return
			}
			if err != nil || !equality.Semantic.DeepEqual(managed, tc.managed) {
				t.Fatalf("managed %v, %v; want %v", managed, err, tc.managed)
			}
			if got := tc.r.share(rules, managed).String(); got != tc.share {
				t.Errorf("share %s, want %s", got, tc.share)
			}
			if !tc.r.namesStable(rules, managed) {
				t.Error("the managed rule names the stable Service; namesStable says not")
			}
		})
	}
	// The user's route before Ramp's first write names the root Service.
	r := router()
	rules, managed, err := r.managedRules(route(`{spec: {rules: [{backendRefs: [{name: web, port: 80}]}]}}`))
	if err != nil || r.namesStable(rules, managed) {
		t.Errorf("a route to the root Service: managed %v (%v), names the stable Service: %v", managed, err, r.namesStable(rules, managed))
	}
}

func TestNewRoute(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parent *rampv1.ParentRef
		want   string
	}{
		{"a mesh route on the root Service's port", nil, `{group: "", kind: Service, name: web, port: 80}`},
		{"an ingress route on a Gateway elsewhere", &rampv1.ParentRef{Kind: "Gateway", Name: "public", Namespace: "infra", SectionName: "https"},
			`{group: gateway.networking.k8s.io, kind: Gateway, name: public, namespace: infra, sectionName: https}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := router()
			r.cfg.Parent = tc.parent
			u, err := r.newRoute(root, traffic.Relative(0))
			if err != nil {
				t.Fatal(err)
			}
			parents, _, _ := unstructured.NestedSlice(u.Object, "spec", "parentRefs")
			var want map[string]any
			if err := yaml.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			want = runtimeJSON(want).(map[string]any)
			if len(parents) != 1 || !equality.Semantic.DeepEqual(parents[0], want) {
				t.Errorf("parentRefs %v, want [%v]", parents, want)
			}
			if u.GetLabels()[traffic.LabelRollout] != "web" || len(u.GetOwnerReferences()) != 1 {
				t.Errorf("the route is not marked as the Rollout's: labels %v, owners %v", u.GetLabels(), u.GetOwnerReferences())
			}
		})
	}
}
