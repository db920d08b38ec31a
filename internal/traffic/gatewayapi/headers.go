package gatewayapi

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// RulePrefix starts the names of the rules Ramp adds for header and cookie
// routes (ramp-<route>). Rules of other names are the user's: Ramp edits
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

// placeRoutes appends Ramp's rules for routes to the user's rules: for each
// route and each managed rule, the managed rule's matches, each with the
// route's headers added (a match with more headers takes precedence in
// Gateway API, wherever the rule stands), its filters, and one backendRef,
// the canary Service. managed indexes rules, which hold no Ramp rule.
func (r *Router) placeRoutes(rules []any, managed []int, routes []rampv1.HeaderRoute) []any {
	for _, hr := range routes {
		for k, i := range managed {
			name := RulePrefix + hr.Name
			if len(managed) > 1 {
				name += "-" + string(rune('a'+k))
			}
			rules = append(rules, r.headerRule(rules[i].(map[string]any), name, hr))
		}
	}
	return rules
}

func (r *Router) headerRule(managed map[string]any, name string, hr rampv1.HeaderRoute) map[string]any {
	rule := map[string]any{"name": name}
	if filters, ok := managed["filters"]; ok {
		rule["filters"] = runtime.DeepCopyJSONValue(filters)
	}
	matches, _, _ := unstructured.NestedSlice(managed, "matches")
	if len(matches) == 0 {
		matches = []any{map[string]any{}}
	}
	for _, m := range matches {
		mm := m.(map[string]any)
		headers, _, _ := unstructured.NestedSlice(mm, "headers")
		for _, h := range hr.Match {
			match := map[string]any{"name": h.Name, "type": "RegularExpression", "value": h.Value.Pattern()}
			if h.Value.Exact != nil {
				match["type"], match["value"] = "Exact", *h.Value.Exact
			}
			headers = append(headers, match)
		}
		mm["headers"] = headers
	}
	rule["matches"] = matches
	refs, _, _ := unstructured.NestedSlice(managed, "backendRefs")
	for _, ref := range refs {
		m := ref.(map[string]any)
		if r.ours(ref) && m["name"] == traffic.CanaryServiceName(r.ro) {
			canary := copyRef(m)
			delete(canary, "weight")
			rule["backendRefs"] = []any{canary}
		}
	}
	return rule
}
