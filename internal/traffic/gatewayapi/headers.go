package gatewayapi

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// RulePrefix starts the names of the rules Ramp adds for header, cookie
// and mirror routes (ramp-<route>). Rules of other names are the user's: Ramp edits
// only the backendRefs of those it manages, and adds or removes nothing
// else.
const RulePrefix = "ramp-"

func isRamps(rule any) bool {
	name, _, _ := unstructured.NestedString(rule.(map[string]any), "name")
	return strings.HasPrefix(name, RulePrefix)
}

// withoutRamps returns the user's rules, in their order.
func withoutRamps(rules []any) []any {
	out := make([]any, 0, len(rules))
	for _, rule := range rules {
		if !isRamps(rule) {
			out = append(out, rule)
		}
	}
	return out
}

// placeRoutes adds Ramp's rules for routes to the user's rules, for each
// route and each managed rule: a rule with the managed rule's matches,
// each with the route's headers added, and its filters. A header route's
// rule comes after the user's and sends to the canary Service alone (a
// match with more headers takes precedence in Gateway API, wherever the
// rule stands). A mirror route's rule comes before them (among equal
// matches the first rule wins) and keeps the managed rule's weighted
// backendRefs, adding a RequestMirror filter to the canary Service.
// managed indexes rules, which hold no Ramp rule.
func (r *Router) placeRoutes(rules []any, managed []int, routes []rampv1.Route) []any {
	var before, after []any
	for _, route := range routes {
		for k, i := range managed {
			name := RulePrefix + route.Name
			if len(managed) > 1 {
				name += "-" + string(rune('a'+k))
			}
			rule := r.routeRule(rules[i].(map[string]any), name, route)
			if route.Mirror > 0 {
				before = append(before, rule)
			} else {
				after = append(after, rule)
			}
		}
	}
	return slices.Concat(before, rules, after)
}

func (r *Router) routeRule(managed map[string]any, name string, route rampv1.Route) map[string]any {
	// The managed rule's other settings (timeouts, retry, sessionPersistence)
	// hold for Ramp's rule too.
	rule := runtime.DeepCopyJSON(managed)
	for _, k := range []string{"matches", "filters", "backendRefs"} {
		delete(rule, k)
	}
	rule["name"] = name
	filters, _, _ := unstructured.NestedSlice(managed, "filters")
	matches, _, _ := unstructured.NestedSlice(managed, "matches")
	if len(matches) == 0 {
		matches = []any{map[string]any{}}
	}
	for _, m := range matches {
		mm := m.(map[string]any)
		headers, _, _ := unstructured.NestedSlice(mm, "headers")
		for _, h := range route.Match {
			match := map[string]any{"name": h.Name, "type": "RegularExpression", "value": h.Value.Pattern()}
			if h.Value.Exact != nil {
				match["type"], match["value"] = "Exact", *h.Value.Exact
			}
			// A header the managed match already tests is the route's to
			// test in Ramp's rule (Gateway API refuses a name twice), as
			// in Istio, whose headers are a map.
			headers = slices.DeleteFunc(headers, func(x any) bool {
				name, _ := x.(map[string]any)["name"].(string)
				return strings.EqualFold(name, h.Name)
			})
			headers = append(headers, match)
		}
		if len(headers) > 0 {
			mm["headers"] = headers
		}
	}
	rule["matches"] = matches
	refs, _, _ := unstructured.NestedSlice(managed, "backendRefs")
	var canary map[string]any
	for _, ref := range refs {
		if m := ref.(map[string]any); r.ours(ref) && m["name"] == traffic.CanaryServiceName(r.ro) {
			canary = copyRef(m)
			canary["weight"] = int64(1) // as the API server defaults it: read back as written
		}
	}
	if route.Mirror > 0 {
		// group and kind as the API server defaults them, so that the rule
		// read back is the rule written and nothing churns.
		target := map[string]any{"group": "", "kind": "Service", "name": traffic.CanaryServiceName(r.ro)}
		if canary != nil && canary["port"] != nil {
			target["port"] = canary["port"]
		}
		filters = append(filters, map[string]any{"type": "RequestMirror",
			"requestMirror": map[string]any{"backendRef": target, "percent": int64(route.Mirror)}})
		rule["backendRefs"] = refs
	} else if canary != nil {
		rule["backendRefs"] = []any{canary}
	}
	if len(filters) > 0 {
		rule["filters"] = filters
	}
	return rule
}
