package istio

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// RoutePrefix starts the names of the HTTP routes Ramp adds to a
// VirtualService for header and cookie routes (ramp-<route>). Routes of
// other names are the user's: Ramp edits only the weights of the one it
// manages, and adds or removes nothing else.
const RoutePrefix = "ramp-"

func isRamps(route any) bool {
	return strings.HasPrefix(routeName(route.(map[string]any)), RoutePrefix)
}

// userRoutes returns the VirtualService's HTTP routes without Ramp's.
func userRoutes(http []any) []any {
	return slices.DeleteFunc(slices.Clone(http), isRamps)
}

// placeRoutes puts Ramp's HTTP routes for routes right before the managed
// route, managed (the first match wins in Istio): each is the managed route
// with the route's headers added to each of its matches, sending
// everything to the canary subset. Ramp's earlier ones go.
func (r *Router) placeRoutes(http []any, managed map[string]any, routes []rampv1.HeaderRoute) []any {
	http = userRoutes(http)
	at := slices.IndexFunc(http, func(x any) bool { return routeName(x.(map[string]any)) == routeName(managed) })
	if at < 0 {
		at = 0
	}
	added := make([]any, 0, len(routes))
	for _, hr := range routes {
		added = append(added, r.headerRoute(managed, hr))
	}
	return slices.Concat(http[:at], added, http[at:])
}

func (r *Router) headerRoute(managed map[string]any, hr rampv1.HeaderRoute) map[string]any {
	route := runtime.DeepCopyJSON(managed)
	for _, k := range []string{"match", "route", "mirror", "mirrors", "mirrorPercentage", "mirror_percent"} {
		delete(route, k)
	}
	route["name"] = RoutePrefix + hr.Name
	matches, _, _ := unstructured.NestedSlice(managed, "match")
	if len(matches) == 0 {
		matches = []any{map[string]any{}}
	}
	for _, m := range matches {
		mm := m.(map[string]any)
		headers, _, _ := unstructured.NestedMap(mm, "headers")
		if headers == nil {
			headers = map[string]any{}
		}
		for _, h := range hr.Match {
			headers[strings.ToLower(h.Name)] = stringMatch(h.Value)
		}
		mm["headers"] = headers
	}
	route["match"] = matches
	dests, _, _ := unstructured.NestedSlice(managed, "route")
	for _, d := range dests {
		if subset(d) == r.cfg.DestinationRule.CanarySubsetName {
			canary := runtime.DeepCopyJSON(d.(map[string]any))
			delete(canary, "weight")
			route["route"] = []any{canary}
		}
	}
	return route
}

// stringMatch is Istio's StringMatch for m.
func stringMatch(m rampv1.StringMatch) map[string]any {
	switch {
	case m.Exact != nil:
		return map[string]any{"exact": *m.Exact}
	case m.Prefix != nil:
		return map[string]any{"prefix": *m.Prefix}
	}
	return map[string]any{"regex": m.Pattern()}
}
