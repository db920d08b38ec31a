package convert

import (
	"encoding/json"
	"fmt"
	"slices"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// gatewayAPIPlugin is the name of Argo's Gateway API plugin.
const gatewayAPIPlugin = "argoproj-labs/gatewayAPI"

// trafficRouting converts a canary's trafficRouting. Ramp needs the root
// Service clients call (spec.service), which Argo names only for SMI; for
// Istio and Gateway API it is found in the routing object, when that is
// given beside the Rollout. routes are the names of the steps' header and
// mirror routes.
func trafficRouting(c *converter, n *node, ro *rampv1.Rollout, routes []string) *rampv1.TrafficRouting {
	tr := &rampv1.TrafficRouting{}
	ro.Spec.Service = c.service
	if smi := n.obj("smi"); smi != nil {
		tr.SMI = &rampv1.SMIRouting{}
		tr.SMI.TrafficSplitName, _ = smi.str("trafficSplitName")
		if root, ok := smi.str("rootService"); ok && root != "" {
			ro.Spec.Service = root
		} else if c.service == "" {
			smi.c.problem(smi.path+".rootService", "required: without it Argo splits the stable Service itself, while Ramp splits a root Service (spec.service) between Services of its own; set rootService to a Service that selects every pod of the Rollout (or annotate the Rollout with `+ServiceAnnotation+`: <name>)")
		}
		smi.done()
	}
	if is := n.obj("istio"); is != nil {
		tr.Istio = istio(c, is, ro)
		is.done()
	}
	if pl := n.obj("plugins"); pl != nil {
		tr.GatewayAPI = plugins(c, pl, ro)
		pl.done()
	}
	if v, ok := n.integer("maxTrafficWeight"); ok && v != 100 {
		n.problem("maxTrafficWeight", "%d: Ramp's weights are percentages of 100; remove it, and scale the steps' weights to percentages", v)
	}
	for _, m := range n.list("managedRoutes") {
		name, _ := m.str("name")
		if !slices.Contains(routes, name) {
			m.problem("name", "%q: no setHeaderRoute or setMirrorRoute step names it; Ramp creates the routes of its steps itself, so remove it", name)
		}
		m.done()
	}
	// The other routers are refused by the table.
	set := 0
	for _, r := range []bool{tr.SMI != nil, tr.Istio != nil, tr.GatewayAPI != nil} {
		if r {
			set++
		}
	}
	if set > 1 {
		n.problem("", "sets several routers; Ramp takes one")
	}
	if set != 1 {
		return nil
	}
	return tr
}

func istio(c *converter, n *node, ro *rampv1.Rollout) *rampv1.IstioRouting {
	out := &rampv1.IstioRouting{}
	virtualService := func(v *node) {
		out.VirtualService.Name, _ = v.str("name")
		routes := v.strs("routes")
		switch len(routes) {
		case 0:
		case 1:
			out.VirtualService.HTTPRouteName = routes[0]
		default:
			v.problem("routes", "%d routes: Ramp sets the weights of one HTTP route; keep one (the others keep their destinations)", len(routes))
		}
		v.done()
	}
	if vs := n.obj("virtualService"); vs != nil {
		virtualService(vs)
	}
	if list := n.list("virtualServices"); len(list) > 0 {
		if out.VirtualService.Name != "" || len(list) > 1 {
			n.problem("virtualServices", "Ramp sets the weights of one VirtualService; keep one")
		}
		for _, vs := range list {
			virtualService(vs)
		}
	}
	dr := n.obj("destinationRule")
	if dr == nil {
		n.problem("destinationRule", "required: Ramp's Istio router splits traffic between the subsets of a DestinationRule, not between Service hosts; add a DestinationRule with stable and canary subsets")
		return out
	}
	out.DestinationRule.Name, _ = dr.str("name")
	out.DestinationRule.StableSubsetName, _ = dr.str("stableSubsetName")
	out.DestinationRule.CanarySubsetName, _ = dr.str("canarySubsetName")
	dr.done()
	// The root Service is the DestinationRule's host.
	if d := c.idx.find("DestinationRule.networking.istio.io", out.DestinationRule.Name, c.namespace); d != nil {
		if host, ok := asMap(d.Object["spec"])["host"].(string); ok && ro.Spec.Service == "" {
			ro.Spec.Service = shortHost(host)
		}
	}
	if ro.Spec.Service == "" {
		c.problem(dr.path+".name", fmt.Sprintf("Ramp needs spec.service, the Service the DestinationRule's host names, and Argo's Rollout does not say it: give the DestinationRule %s beside the Rollout (-f), or annotate the Argo Rollout with %s: <the host's Service>", out.DestinationRule.Name, ServiceAnnotation))
	}
	return out
}

// shortHost turns a Service's host (web, web.shop, web.shop.svc.cluster.local)
// into its name.
func shortHost(host string) string {
	for i, r := range host {
		if r == '.' {
			return host[:i]
		}
	}
	return host
}

// plugins converts Argo's traffic router plugins: its Gateway API plugin
// becomes Ramp's gatewayAPI router; no other has a counterpart.
func plugins(c *converter, n *node, ro *rampv1.Rollout) *rampv1.GatewayAPIRouting {
	var out *rampv1.GatewayAPIRouting
	for name := range n.m {
		if name != gatewayAPIPlugin {
			n.refuse(name, fmt.Sprintf("Ramp has no %s router; of the plugins it converts %s only: use gatewayAPI, istio or smi", name, gatewayAPIPlugin))
		}
	}
	g := n.obj(gatewayAPIPlugin)
	if g == nil {
		return nil
	}
	out = &rampv1.GatewayAPIRouting{}
	out.HTTPRoute, _ = g.str("httpRoute")
	for _, r := range g.list("httpRoutes") {
		if out.HTTPRoute != "" {
			g.problem("httpRoutes", "Ramp manages one HTTPRoute; keep one")
		}
		out.HTTPRoute, _ = r.str("name")
		// Ramp's header routes need nothing switched on.
		r.boolean("useHeaderRoutes")
		r.done()
	}
	if ns, ok := g.str("namespace"); ok && ns != c.namespace {
		g.problem("namespace", "%s: Ramp's HTTPRoute is in the Rollout's namespace; move the route there", ns)
	}
	// Where Argo's plugin keeps its own state.
	g.str("configMap")
	for _, k := range []string{"grpcRoute", "grpcRoutes", "tcpRoute", "tcpRoutes", "tlsRoute", "tlsRoutes"} {
		if _, ok := g.m[k]; ok {
			g.refuse(k, "Ramp's Gateway API router shapes HTTPRoutes only")
		}
	}
	if out.HTTPRoute == "" {
		g.problem("httpRoute", "required: name the HTTPRoute")
	}
	for k := range g.m {
		raw, _ := json.Marshal(g.m[k])
		g.refuse(k, fmt.Sprintf("unknown setting of the %s plugin (%s)", gatewayAPIPlugin, raw))
	}
	g.done()
	// The root Service is the route's Service parent (a GAMMA mesh route).
	if r := c.idx.find("HTTPRoute.gateway.networking.k8s.io", out.HTTPRoute, c.namespace); r != nil {
		parents, _ := asMap(r.Object["spec"])["parentRefs"].([]any)
		for _, p := range parents {
			pm := asMap(p)
			if pm["kind"] == "Service" && (ro.Spec.Service == "" || ro.Spec.Service == pm["name"]) {
				ro.Spec.Service, _ = pm["name"].(string)
				out.Parent = &rampv1.ParentRef{Kind: "Service"}
			} else if name, ok := pm["name"].(string); ok && out.Parent == nil {
				ns, _ := pm["namespace"].(string)
				section, _ := pm["sectionName"].(string)
				out.Parent = &rampv1.ParentRef{Kind: "Gateway", Name: name, Namespace: ns, SectionName: section}
			}
		}
	}
	if ro.Spec.Service == "" {
		c.problem(g.path+".httpRoute", fmt.Sprintf("Ramp needs spec.service, the root Service clients call, and Argo's Rollout does not say it: give the HTTPRoute %s beside the Rollout (-f) if a Service is its parent (a mesh route), or annotate the Argo Rollout with %s: <name> (a Service that selects every pod of the Rollout; Ramp creates the stable and canary ones)", out.HTTPRoute, ServiceAnnotation))
	}
	return out
}
