package istio

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// RoutePrefix starts the names of the HTTP routes Ramp adds to a
// VirtualService for header, cookie and mirror routes (ramp-<route>). Routes of
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
// route, managed (the first match wins in Istio), header routes first: each
// is the managed route with the route's headers added to each of its
// matches. A header route sends everything to the canary subset; a mirror
// route keeps the managed route's weighted destinations and mirrors its
// share to the canary subset. Ramp's earlier ones go.
func (r *Router) placeRoutes(http []any, managed map[string]any, routes []rampv1.Route) []any {
	http = userRoutes(http)
	at := slices.IndexFunc(http, func(x any) bool { return routeName(x.(map[string]any)) == routeName(managed) })
	if at < 0 {
		at = 0
	}
	var headers, mirrors []any
	for _, route := range routes {
		if route.Mirror > 0 {
			mirrors = append(mirrors, r.routeEntry(managed, route))
		} else {
			headers = append(headers, r.routeEntry(managed, route))
		}
	}
	return slices.Concat(http[:at], headers, mirrors, http[at:])
}

func (r *Router) routeEntry(managed map[string]any, route rampv1.Route) map[string]any {
	entry := runtime.DeepCopyJSON(managed)
	for _, k := range []string{"match", "mirror", "mirrors", "mirrorPercentage", "mirror_percent"} {
		delete(entry, k)
	}
	entry["name"] = RoutePrefix + route.Name
	matches, _, _ := unstructured.NestedSlice(managed, "match")
	if len(matches) == 0 && len(route.Match) > 0 {
		matches = []any{map[string]any{}}
	}
	for _, m := range matches {
		mm := m.(map[string]any)
		headers, _, _ := unstructured.NestedMap(mm, "headers")
		if headers == nil {
			headers = map[string]any{}
		}
		for _, h := range route.Match {
			headers[strings.ToLower(h.Name)] = stringMatch(h.Value)
		}
		if len(headers) > 0 {
			mm["headers"] = headers
		}
	}
	if len(matches) > 0 {
		entry["match"] = matches
	}
	dests, _, _ := unstructured.NestedSlice(managed, "route")
	for _, d := range dests {
		if subset(d) != r.cfg.DestinationRule.CanarySubsetName {
			continue
		}
		canary, _, _ := unstructured.NestedMap(d.(map[string]any), "destination")
		if route.Mirror > 0 {
			entry["mirror"] = canary
			entry["mirrorPercentage"] = map[string]any{"value": int64(route.Mirror)} // as the API server reads a whole number back
		} else {
			entry["route"] = []any{map[string]any{"destination": canary}}
		}
	}
	return entry
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
