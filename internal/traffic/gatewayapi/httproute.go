// Package gatewayapi routes canary traffic with the backendRefs weights of
// a Gateway API HTTPRoute (gateway.networking.k8s.io/v1): a mesh route whose
// parent is the root Service (GAMMA: Linkerd 2.14+, Istio) or an ingress
// route whose parent is a Gateway. Ramp edits only the rules it manages, and
// in them only the backendRefs of the root, stable and canary Services.
package gatewayapi

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// GVK of the HTTPRoute.
var GVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}

// Router is the Gateway API router of one Rollout.
type Router struct {
	kube traffic.Kube
	ro   *rampv1.Rollout
	cfg  rampv1.GatewayAPIRouting
	// last is the route as last read or written by this router, which
	// lives for one reconcile pass (see smi.Router).
	last *unstructured.Unstructured
}

var _ traffic.Router = (*Router)(nil)

// New returns the Gateway API router of ro.
func New(k traffic.Kube, ro *rampv1.Rollout) *Router {
	return &Router{kube: k, ro: ro, cfg: *ro.Spec.Strategy.Canary.TrafficRouting.GatewayAPI}
}

// Name is the HTTPRoute's name.
func Name(ro *rampv1.Rollout) string {
	if n := ro.Spec.Strategy.Canary.TrafficRouting.GatewayAPI.HTTPRoute; n != "" {
		return n
	}
	return ro.Name
}

// Replicas keeps the stable revision at full scale.
func (r *Router) Replicas(replicas int32, w rampv1.Weight) (int32, int32) {
	return traffic.MeshReplicas(r.ro.Spec.Strategy.Canary.CanaryScale, replicas, w)
}

// SetWeight points the stable and canary Services at their revisions and
// writes the weights into the managed rules, creating the route if
// missing; the order of the two follows traffic.WeightFirst.
func (r *Router) SetWeight(ctx context.Context, t traffic.Target) ([]traffic.Change, error) {
	root, err := traffic.RootService(ctx, r.kube, r.ro)
	if err != nil {
		return nil, err
	}
	route, err := r.get(ctx)
	missing := apierrors.IsNotFound(err)
	if err != nil && !missing {
		return nil, err
	}
	var now rampv1.Weight
	if !missing {
		if rules, managed, err := r.managedRules(route); err == nil {
			now = r.share(rules, managed)
		}
	}
	services := func() ([]traffic.Change, error) { return traffic.EnsureServices(ctx, r.kube, r.ro, root, t) }
	weights := func() ([]traffic.Change, error) { return r.writeRoute(ctx, route, missing, root, t) }
	return traffic.InOrder(traffic.WeightFirst(now, t), services, weights)
}

// writeRoute creates the route, or writes the managed rules' backendRefs
// when they differ from t's.
func (r *Router) writeRoute(ctx context.Context, route *unstructured.Unstructured, missing bool, root *corev1.Service, t traffic.Target) ([]traffic.Change, error) {
	split := traffic.Relative(t.Weight)
	if missing {
		route, err := r.newRoute(root, split)
		if err != nil {
			return nil, err
		}
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		if err := unstructured.SetNestedSlice(route.Object, r.placeRoutes(rules, []int{0}, t.Routes), "spec", "rules"); err != nil {
			return nil, err
		}
		traffic.MarkWritten(route, t)
		if err := r.kube.Client.Create(ctx, route); err != nil {
			return nil, fmt.Errorf("create HTTPRoute %s: %w", route.GetName(), err)
		}
		r.last = route
		return []traffic.Change{{Object: "HTTPRoute " + route.GetName(), Written: route, Created: true, Detail: describe(split)}}, nil
	}
	var before rampv1.Weight
	moved, _, err := traffic.Update(ctx, r.kube.Client, route, func() error {
		rules, managed, err := r.managedRules(route)
		if err != nil {
			return err
		}
		before = r.share(rules, managed)
		for _, i := range managed {
			rule := rules[i].(map[string]any)
			refs, _, _ := unstructured.NestedSlice(rule, "backendRefs")
			rule["backendRefs"] = r.rewrite(refs, root, split)
		}
		traffic.MarkWritten(route, t)
		return unstructured.SetNestedSlice(route.Object, r.placeRoutes(rules, managed, t.Routes), "spec", "rules")
	})
	if err != nil || !moved {
		return nil, err // a write of the weight's record alone moves no traffic
	}
	return []traffic.Change{{Object: "HTTPRoute " + route.GetName(), Written: route,
		Detail: fmt.Sprintf("canary %s%% → %s%% (%s)%s", before, t.Weight, describe(split), traffic.DescribeRoutes(t.Routes))}}, nil
}

// Verify reads the canary's share back from the first managed rule.
func (r *Router) Verify(ctx context.Context) (traffic.Reading, error) {
	route, err := r.get(ctx)
	if apierrors.IsNotFound(err) {
		return traffic.Reading{}, nil
	}
	if err != nil {
		return traffic.Reading{}, err
	}
	rules, managed, err := r.managedRules(route)
	if err != nil {
		return traffic.Reading{}, err
	}
	applied, reports := Applied(route)
	all, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	return traffic.Reading{Weight: r.share(rules, managed), Written: traffic.ReadWritten(route), Routes: len(all) - len(rules),
		Generation: route.GetGeneration(), Applied: applied, Reports: reports, Stable: r.namesStable(rules, managed)}, nil
}

// namesStable reports whether the first managed rule sends traffic to the
// stable Service.
func (r *Router) namesStable(rules []any, managed []int) bool {
	if len(managed) == 0 {
		return false
	}
	refs, _, _ := unstructured.NestedSlice(rules[managed[0]].(map[string]any), "backendRefs")
	return slices.ContainsFunc(refs, func(ref any) bool {
		m, _ := ref.(map[string]any)
		return r.ours(ref) && m["name"] == traffic.StableServiceName(r.ro)
	})
}

// Cleanup gives the route back to the root Service: the stable and canary
// Services go with the Rollout. A route Ramp created goes with it too, but
// is released first all the same, so that the proxies leave those
// Services before they go (a Rollout that adopted a Deployment waits for
// that).
func (r *Router) Cleanup(ctx context.Context) ([]traffic.Change, error) {
	route, err := r.get(ctx)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, _, err := r.managedRules(route); err != nil {
		return nil, nil // nothing of ours in it
	}
	moved, _, err := traffic.Update(ctx, r.kube.Client, route, func() error {
		rules, managed, _ := r.managedRules(route) // without Ramp's rules
		for _, i := range managed {
			rule := rules[i].(map[string]any)
			refs, _, _ := unstructured.NestedSlice(rule, "backendRefs")
			rule["backendRefs"] = r.release(refs)
		}
		traffic.MarkWritten(route, traffic.Target{Rest: true})
		return unstructured.SetNestedSlice(route.Object, rules, "spec", "rules")
	})
	if err != nil || !moved {
		return nil, err // at most the record of the weight removed
	}
	return []traffic.Change{{Object: "HTTPRoute " + route.GetName(), Written: route, Detail: "backendRefs point at Service " + r.ro.Spec.Service + " again"}}, nil
}

func (r *Router) get(ctx context.Context) (*unstructured.Unstructured, error) {
	if r.last != nil {
		return r.last, nil
	}
	route := &unstructured.Unstructured{}
	route.SetGroupVersionKind(GVK)
	err := r.kube.Client.Get(ctx, client.ObjectKey{Namespace: r.ro.Namespace, Name: Name(r.ro)}, route)
	if err != nil && meta.IsNoMatchError(err) {
		return nil, traffic.Configf("HTTPRouteNotServed",
			"the cluster serves no HTTPRoute (gateway.networking.k8s.io/v1): install the Gateway API CRDs or choose another router")
	}
	if err == nil {
		r.last = route
	}
	return route, err
}

// newRoute is the route Ramp creates: attached to the parent, one rule
// sending everything to the stable and canary Services.
func (r *Router) newRoute(root *corev1.Service, split traffic.Split) (*unstructured.Unstructured, error) {
	route := &unstructured.Unstructured{}
	route.SetGroupVersionKind(GVK)
	route.SetName(Name(r.ro))
	route.SetNamespace(r.ro.Namespace)
	route.SetLabels(rampv1.CreatedLabels(r.ro.Name))
	if err := controllerutil.SetControllerReference(r.ro, route, r.kube.Scheme); err != nil {
		return nil, err
	}
	parent := map[string]any{"group": "", "kind": "Service", "name": r.ro.Spec.Service}
	if p := r.cfg.Parent; p != nil {
		if p.Name != "" {
			parent["name"] = p.Name
		}
		if p.Kind == "Gateway" {
			parent["group"], parent["kind"] = GVK.Group, "Gateway"
		}
		if p.Namespace != "" {
			parent["namespace"] = p.Namespace
		}
		if p.SectionName != "" {
			parent["sectionName"] = p.SectionName
		}
	}
	if parent["kind"] == "Service" && len(root.Spec.Ports) > 0 {
		parent["port"] = int64(root.Spec.Ports[0].Port)
	}
	rule := map[string]any{"backendRefs": r.rewrite(nil, root, split)}
	route.Object["spec"] = map[string]any{"parentRefs": []any{parent}, "rules": []any{rule}}
	return route, nil
}

// managedRules returns the user's rules (without those Ramp added for
// header routes) and the indexes of those Ramp manages: the named ones, or
// every rule sending traffic to the root, stable or canary Service.
func (r *Router) managedRules(route *unstructured.Unstructured) ([]any, []int, error) {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	rules = withoutRamps(rules) // the header routes' rules, placed again by placeRoutes
	var managed []int
	for i, rule := range rules {
		m, _ := rule.(map[string]any)
		name, _, _ := unstructured.NestedString(m, "name")
		refs, _, _ := unstructured.NestedSlice(m, "backendRefs")
		switch {
		case len(r.cfg.Rules) > 0 && slices.Contains(r.cfg.Rules, name):
			managed = append(managed, i)
		case len(r.cfg.Rules) == 0 && slices.ContainsFunc(refs, r.ours):
			managed = append(managed, i)
		}
	}
	if len(r.cfg.Rules) > 0 && len(managed) < len(r.cfg.Rules) {
		return nil, nil, traffic.Configf("RouteRuleNotFound",
			"spec.strategy.canary.trafficRouting.gatewayAPI.rules: HTTPRoute %s has no rule named %v", route.GetName(), r.cfg.Rules)
	}
	if len(managed) == 0 {
		return nil, nil, traffic.Configf("RouteRuleNotFound",
			"HTTPRoute %s has no rule whose backendRefs name Service %s; point a rule at it or name the rules in spec.strategy.canary.trafficRouting.gatewayAPI.rules",
			route.GetName(), r.ro.Spec.Service)
	}
	return rules, managed, nil
}

// ours reports whether a backendRef names the root, stable or canary Service.
func (r *Router) ours(ref any) bool {
	m, _ := ref.(map[string]any)
	if g, _ := m["group"].(string); g != "" {
		return false
	}
	if k, _ := m["kind"].(string); k != "" && k != "Service" {
		return false
	}
	if ns, _ := m["namespace"].(string); ns != "" && ns != r.ro.Namespace {
		return false
	}
	name, _ := m["name"].(string)
	return name == r.ro.Spec.Service || name == traffic.StableServiceName(r.ro) || name == traffic.CanaryServiceName(r.ro)
}

// rewrite replaces Ramp's backendRefs in a rule with the stable and canary
// refs at split, where the first of them stood; their port and filters come
// from the first one. Other backendRefs stay as they are.
func (r *Router) rewrite(refs []any, root *corev1.Service, split traffic.Split) []any {
	template := map[string]any{}
	if len(root.Spec.Ports) > 0 {
		template["port"] = int64(root.Spec.Ports[0].Port)
	}
	at := -1
	for i, ref := range refs {
		if r.ours(ref) {
			if at < 0 {
				template, at = copyRef(ref.(map[string]any)), i
			}
		}
	}
	stable, canary := copyRef(template), copyRef(template)
	stable["name"], stable["weight"] = traffic.StableServiceName(r.ro), split.Stable
	canary["name"], canary["weight"] = traffic.CanaryServiceName(r.ro), split.Canary
	return spliceOurs(refs, r.ours, at, stable, canary)
}

// release puts the root Service back in place of the stable and canary refs.
func (r *Router) release(refs []any) []any {
	at := slices.IndexFunc(refs, r.ours)
	if at < 0 {
		return refs
	}
	root := copyRef(refs[at].(map[string]any))
	root["name"] = r.ro.Spec.Service
	delete(root, "weight")
	return spliceOurs(refs, r.ours, at, root)
}

// share reads the canary's weight from the first managed rule; unset
// weights count as 1, as Gateway API says.
func (r *Router) share(rules []any, managed []int) rampv1.Weight {
	if len(managed) == 0 {
		return 0
	}
	refs, _, _ := unstructured.NestedSlice(rules[managed[0]].(map[string]any), "backendRefs")
	var split traffic.Split
	for _, ref := range refs {
		m, _ := ref.(map[string]any)
		w, found, _ := unstructured.NestedInt64(m, "weight")
		if !found {
			w = 1
		}
		if r.ours(ref) && m["name"] == traffic.CanaryServiceName(r.ro) {
			split.Canary += w
		} else {
			split.Stable += w
		}
	}
	return split.Share()
}

// spliceOurs returns refs without those matching ours, with repl inserted
// where the first of them stood (or at the end).
func spliceOurs(refs []any, ours func(any) bool, at int, repl ...any) []any {
	out := make([]any, 0, len(refs)+len(repl))
	for i, ref := range refs {
		if i == at {
			out = append(out, repl...)
		}
		if !ours(ref) {
			out = append(out, ref)
		}
	}
	if at < 0 {
		out = append(out, repl...)
	}
	return out
}

func copyRef(m map[string]any) map[string]any {
	return runtime.DeepCopyJSON(m)
}

func describe(s traffic.Split) string {
	return fmt.Sprintf("stable weight %d, canary weight %d", s.Stable, s.Canary)
}
