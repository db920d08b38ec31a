package dataplane

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Routing kinds the mesh honours, each at the versions it tries in turn.
var (
	trafficSplitVersions = []string{"v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"}
	httpRouteGVK         = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	virtualServiceGVK    = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	destinationRuleGVK   = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
)

// endpoint is one ready pod behind a Service, as a proxy knows it.
type endpoint struct {
	pod, namespace string
	workload       string // the owning ReplicaSet, as Istio names workloads
	addr           string // ip:port
	labels         map[string]string
}

// endpoints are the ready pods of each Service, as the EndpointSlice
// controller lists them: ready, not being deleted, with an IP.
type endpoints map[string][]endpoint

// backend is where a share of a root Service's requests goes.
type backend struct {
	service string
	subset  map[string]string // an Istio subset's labels
	weight  float64
	// missing says why the backend cannot be reached (an Istio subset no
	// DestinationRule defines): the requests sent to it fail, as Envoy
	// answers 503 for a cluster it does not have; at weight 0 none is.
	missing string
}

// objectRef names a routing object whose status the mesh reports.
type objectRef struct {
	gvk  schema.GroupVersionKind
	name string
}

// routes is a proxy's routing table: the weighted backends of each root
// Service it serves (none: the Service itself), or why it has none, and
// the generation of each routing object it was built from.
type routes struct {
	table   map[string][]backend
	mirrors map[string]*mirror // the default's mirror, if any
	// rules go first: requests whose headers match take their backends.
	rules       map[string][]matchRule
	faults      map[string]string
	generations map[objectRef]int64
}

// buildEndpoints lists the endpoints of every Service in the namespace,
// and the Services' names.
func buildEndpoints(ctx context.Context, r client.Reader, ns string) (endpoints, []string, error) {
	var svcs corev1.ServiceList
	if err := r.List(ctx, &svcs, client.InNamespace(ns)); err != nil {
		return nil, nil, err
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		return nil, nil, err
	}
	out := endpoints{}
	var names []string
	for _, svc := range svcs.Items {
		names = append(names, svc.Name)
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for i := range pods.Items {
			pod := &pods.Items[i]
			if !sel.Matches(labels.Set(pod.Labels)) || !ready(pod) || pod.DeletionTimestamp != nil || pod.Status.PodIP == "" {
				continue
			}
			workload := pod.Name
			if owner := metav1.GetControllerOf(pod); owner != nil {
				workload = owner.Name
			}
			out[svc.Name] = append(out[svc.Name], endpoint{
				pod: pod.Name, namespace: pod.Namespace, workload: workload,
				addr:   pod.Status.PodIP + ":" + strconv.Itoa(podPort(pod)),
				labels: maps.Clone(pod.Labels),
			})
		}
	}
	return out, names, nil
}

// buildRoutes computes the routing table of the given root Services from
// the routing objects: a TrafficSplit rooted at one, an HTTPRoute attached
// to one, a VirtualService for its host.
func buildRoutes(ctx context.Context, r client.Reader, ns string, services []string) (*routes, error) {
	rt := &routes{table: map[string][]backend{}, mirrors: map[string]*mirror{}, rules: map[string][]matchRule{}, faults: map[string]string{}, generations: map[objectRef]int64{}}
	splits, err := list(ctx, r, ns, "split.smi-spec.io", "TrafficSplit", trafficSplitVersions...)
	if err != nil {
		return nil, err
	}
	httpRoutes, err := list(ctx, r, ns, httpRouteGVK.Group, httpRouteGVK.Kind, httpRouteGVK.Version)
	if err != nil {
		return nil, err
	}
	vss, err := list(ctx, r, ns, virtualServiceGVK.Group, virtualServiceGVK.Kind, virtualServiceGVK.Version)
	if err != nil {
		return nil, err
	}
	drs, err := list(ctx, r, ns, destinationRuleGVK.Group, destinationRuleGVK.Kind, destinationRuleGVK.Version)
	if err != nil {
		return nil, err
	}
	for _, u := range httpRoutes {
		rt.generations[objectRef{httpRouteGVK, u.GetName()}] = u.GetGeneration()
	}
	for _, u := range vss {
		rt.generations[objectRef{virtualServiceGVK, u.GetName()}] = u.GetGeneration()
	}
	for _, u := range drs {
		rt.generations[objectRef{destinationRuleGVK, u.GetName()}] = u.GetGeneration()
	}
	for _, svc := range services {
		def, rules, fault := routeService(svc, splits, httpRoutes, vss, drs)
		switch {
		case fault != "":
			rt.faults[svc] = fault
		case def.backends != nil:
			rt.table[svc], rt.mirrors[svc], rt.rules[svc] = def.backends, def.mirror, rules
		}
	}
	return rt, nil
}

// routeService is the routing of one root Service, by the first routing
// object that applies to it: the weighted backends of its catch-all rule,
// and the rules that match headers, in the order they apply. Nil backends:
// straight to the Service. Paths are not looked at: the load asks for /.
func routeService(svc string, splits, httpRoutes, vss, drs []unstructured.Unstructured) (matchRule, []matchRule, string) {
	for _, ts := range splits {
		if root, _, _ := unstructured.NestedString(ts.Object, "spec", "service"); root != svc {
			continue
		}
		refs, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
		var out []backend
		for _, ref := range refs {
			m := ref.(map[string]any)
			out = append(out, backend{service: fmt.Sprint(m["service"]), weight: quantity(m["weight"])})
		}
		b, fault := checked(out, "TrafficSplit "+ts.GetName())
		return matchRule{backends: b}, nil, fault
	}
	for _, route := range httpRoutes {
		if !attached(route, svc) {
			continue
		}
		return gatewayRoutes(route)
	}
	for _, vs := range vss {
		hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
		if !contains(hosts, svc) {
			continue
		}
		if def, rules, fault, ok := istioRoutes(vs, drs); ok {
			return def, rules, fault
		}
	}
	return matchRule{}, nil, ""
}

// gatewayRoutes reads an HTTPRoute: its first rule without header matches
// is the weighted default; rules with header matches go first, those with
// more headers before (Gateway API's precedence), else in their order.
func gatewayRoutes(route unstructured.Unstructured) (matchRule, []matchRule, string) {
	what := "HTTPRoute " + route.GetName()
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	var def matchRule
	var found bool
	var matched []matchRule
	for _, r := range rules {
		rule := r.(map[string]any)
		refs, _, _ := unstructured.NestedSlice(rule, "backendRefs")
		name, _, _ := unstructured.NestedString(rule, "name")
		mr := matchRule{name: name, mirror: gatewayMirror(rule)}
		for _, ref := range refs {
			m := ref.(map[string]any)
			w := 1.0 // Gateway API's default
			if v, ok := m["weight"]; ok {
				w = quantity(v)
			}
			mr.backends = append(mr.backends, backend{service: fmt.Sprint(m["name"]), weight: w})
		}
		matches, _, _ := unstructured.NestedSlice(rule, "matches")
		plain := len(matches) == 0
		for _, m := range matches {
			headers, err := gatewayHeaders(m.(map[string]any))
			if err != nil {
				return matchRule{}, nil, what + ": " + err.Error()
			}
			if len(headers) == 0 {
				plain = true
				continue
			}
			withHeaders := mr
			withHeaders.headers = headers
			matched = append(matched, withHeaders)
		}
		if plain && !found {
			def, found = mr, true
		}
	}
	if !found {
		return matchRule{}, nil, ""
	}
	sort.SliceStable(matched, func(i, j int) bool { return len(matched[i].headers) > len(matched[j].headers) })
	for _, m := range matched {
		if _, fault := checked(m.backends, what+" rule "+m.name); fault != "" {
			return matchRule{}, nil, fault
		}
	}
	var fault string
	def.backends, fault = checked(def.backends, what)
	return def, matched, fault
}

// istioRoutes reads a VirtualService: its first route without a match is
// the weighted default; the routes before it that match headers go first,
// in their order (the first match wins). ok is false without a default.
func istioRoutes(vs unstructured.Unstructured, drs []unstructured.Unstructured) (def matchRule, matched []matchRule, fault string, ok bool) {
	what := "VirtualService " + vs.GetName()
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	for _, r := range http {
		rm := r.(map[string]any)
		backends := istioBackends(what, rm, drs)
		mirror, fault := istioMirror(what, rm, drs)
		if fault != "" {
			return matchRule{}, nil, fault, true
		}
		rule := matchRule{name: routeName(rm), backends: backends, mirror: mirror}
		if rm["match"] == nil {
			rule.backends, fault = checked(backends, what)
			return rule, matched, fault, true
		}
		matches, _, _ := unstructured.NestedSlice(rm, "match")
		for _, m := range matches {
			headers, err := istioHeaders(m.(map[string]any))
			if err != nil {
				return matchRule{}, nil, what + ": " + err.Error(), true
			}
			if len(headers) > 0 {
				withHeaders := rule
				withHeaders.headers = headers
				matched = append(matched, withHeaders)
			}
		}
	}
	return matchRule{}, nil, "", false
}

func istioBackends(what string, route map[string]any, drs []unstructured.Unstructured) []backend {
	dests, _, _ := unstructured.NestedSlice(route, "route")
	var out []backend
	for _, d := range dests {
		dm := d.(map[string]any)
		w := 0.0
		if v, ok := dm["weight"]; ok {
			w = quantity(v)
		} else if len(dests) == 1 {
			w = 100
		}
		host, _, _ := unstructured.NestedString(dm, "destination", "host")
		subsetName, _, _ := unstructured.NestedString(dm, "destination", "subset")
		b := backend{service: strings.Split(host, ".")[0], weight: w}
		if subsetName != "" {
			subset, ok := subsetLabels(drs, host, subsetName)
			if !ok {
				b.missing = fmt.Sprintf("%s: no subset %s for host %s", what, subsetName, host)
			}
			b.subset = subset
		}
		out = append(out, b)
	}
	return out
}

func routeName(route map[string]any) string {
	n, _ := route["name"].(string)
	return n
}

// checked refuses backends that send nothing anywhere, as a proxy would.
func checked(backends []backend, what string) ([]backend, string) {
	for _, b := range backends {
		if b.weight > 0 {
			return backends, ""
		}
	}
	return nil, what + " sends nothing anywhere"
}

func attached(route unstructured.Unstructured, svc string) bool {
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	for _, p := range parents {
		if pm := p.(map[string]any); pm["kind"] == "Service" && pm["name"] == svc {
			return true
		}
	}
	return false
}

// subsetLabels reads a subset's labels from the DestinationRule for host.
func subsetLabels(drs []unstructured.Unstructured, host, subset string) (map[string]string, bool) {
	for _, dr := range drs {
		if h, _, _ := unstructured.NestedString(dr.Object, "spec", "host"); h != host {
			continue
		}
		subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
		for _, s := range subsets {
			if sm := s.(map[string]any); sm["name"] == subset {
				l, _, _ := unstructured.NestedStringMap(sm, "labels")
				return l, true
			}
		}
	}
	return nil, false
}

// list reads the objects of a kind at the first version the cluster
// serves; none when it serves none.
func list(ctx context.Context, r client.Reader, ns, group, kind string, versions ...string) ([]unstructured.Unstructured, error) {
	for _, v := range versions {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: v, Kind: kind + "List"})
		err := r.List(ctx, l, client.InNamespace(ns))
		if meta.IsNoMatchError(err) {
			continue
		}
		return l.Items, err
	}
	return nil, nil
}

// quantity reads a weight written as a number or a quantity string.
func quantity(v any) float64 {
	switch w := v.(type) {
	case int64:
		return float64(w)
	case float64:
		return w
	case string:
		var f float64
		if strings.HasSuffix(w, "m") {
			f, _ = strconv.ParseFloat(strings.TrimSuffix(w, "m"), 64)
			return f / 1000
		}
		f, _ = strconv.ParseFloat(w, 64)
		return f
	}
	return 0
}

func podPort(pod *corev1.Pod) int {
	if c := pod.Spec.Containers[0]; len(c.Ports) > 0 {
		return int(c.Ports[0].ContainerPort)
	}
	return DefaultPort
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.Split(x, ".")[0] == s {
			return true
		}
	}
	return false
}
