// Package istio routes canary traffic with an Istio VirtualService whose
// HTTP route sends weighted traffic to the stable and canary subsets of a
// DestinationRule. The user owns both objects; Ramp edits only the named
// route's two destinations and the two subsets' revision labels, and takes
// what it added back when the canary is over, so that the objects look as
// they did before it began, apart from the weights at rest.
package istio

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Group of Istio's networking API.
const Group = "networking.istio.io"

// Versions Ramp reads and writes, newest first; all serve the same fields.
var Versions = []string{"v1", "v1beta1", "v1alpha3"}

// Annotations recording what Ramp added, so it can take it back.
const (
	// AnnotationAddedSubset, on a DestinationRule: the subsets Ramp
	// created, comma-separated.
	AnnotationAddedSubset = "ramp.dev/added-subset"
	// AnnotationAddedDestination, on a VirtualService: the route whose
	// canary destination Ramp created.
	AnnotationAddedDestination = "ramp.dev/added-destination"
)

// Router is the Istio router of one Rollout.
type Router struct {
	kube traffic.Kube
	ro   *rampv1.Rollout
	cfg  rampv1.IstioRouting
	// last holds the objects as last read or written by this router,
	// which lives for one reconcile pass (see smi.Router).
	last map[string]*unstructured.Unstructured
}

var _ traffic.Router = (*Router)(nil)

// New returns the Istio router of ro.
func New(k traffic.Kube, ro *rampv1.Rollout) *Router {
	return &Router{kube: k, ro: ro, cfg: *ro.Spec.Strategy.Canary.TrafficRouting.Istio}
}

// Replicas keeps the stable revision at full scale.
func (r *Router) Replicas(replicas int32, w rampv1.Weight) (int32, int32) {
	return traffic.MeshReplicas(r.ro.Spec.Strategy.Canary.CanaryScale, replicas, w)
}

// SetWeight labels the subsets with their revisions and writes the route's
// weights. When traffic moves toward a subset (a rising weight, a
// promotion) the DestinationRule is written first, so the subset selects
// its pods before it gets requests; when traffic leaves one (a falling
// weight, a rollback, the return to rest) the VirtualService goes first.
// At rest Ramp takes its additions back instead of labelling.
func (r *Router) SetWeight(ctx context.Context, t traffic.Target) ([]traffic.Change, error) {
	split, err := r.split(t.Weight)
	if err != nil {
		return nil, err
	}
	now, err := r.Verify(ctx)
	if err != nil {
		return nil, err
	}
	subsets := func() ([]traffic.Change, error) {
		changes, err := r.previewServices(ctx, t)
		if err != nil {
			return changes, err
		}
		more, err := r.updateDestinationRule(ctx, func(dr *unstructured.Unstructured) (string, error) {
			if t.Rest {
				return r.releaseSubsets(dr), nil
			}
			return r.labelSubsets(dr, t.StableSelector(), t.CanarySelector()), nil
		})
		return append(changes, more...), err
	}
	weights := func() ([]traffic.Change, error) {
		return r.updateVirtualService(ctx, t.Routes, func(vs *unstructured.Unstructured, route map[string]any) (string, error) {
			traffic.MarkWritten(vs, t)
			detail, err := r.weigh(vs, route, split, t.Rest)
			return detail + traffic.DescribeRoutes(t.Routes), err
		})
	}
	// At rest the subsets lose their revision labels, so that they select
	// every pod again: the route must name them no more first.
	return traffic.InOrder(t.Rest || traffic.WeightFirst(now.Weight, t), subsets, weights)
}

// previewServices keeps, for a blue/green Rollout, the active and preview
// Services pinned to the two revisions, as the SMI and Gateway API routers
// do for every Rollout: the VirtualService routes production traffic to
// subsets of the root Service, and the checks before the switch reach the
// new version through the preview Service.
func (r *Router) previewServices(ctx context.Context, t traffic.Target) ([]traffic.Change, error) {
	if r.ro.Spec.Strategy.BlueGreen == nil {
		return nil, nil
	}
	_, changes, err := traffic.PointServices(ctx, r.kube, r.ro, t)
	return changes, err
}

// Verify reads the canary's share from the route's destinations.
func (r *Router) Verify(ctx context.Context) (traffic.Reading, error) {
	vs, err := r.get(ctx, "VirtualService", r.cfg.VirtualService.Name)
	if err != nil {
		return traffic.Reading{}, err
	}
	route, err := r.route(vs)
	if err != nil {
		return traffic.Reading{}, err
	}
	dests, _, _ := unstructured.NestedSlice(route, "route")
	var split traffic.Split
	for _, d := range dests {
		m, _ := d.(map[string]any)
		w, found, _ := unstructured.NestedInt64(m, "weight")
		if !found && len(dests) == 1 {
			w = 100 // a lone destination takes everything
		}
		if subset(m) == r.cfg.DestinationRule.CanarySubsetName {
			split.Canary += w
		} else {
			split.Stable += w
		}
	}
	applied, reports := Applied(vs)
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	return traffic.Reading{Weight: split.Share(), Written: traffic.ReadWritten(vs), Routes: len(http) - len(userRoutes(http)),
		Generation: vs.GetGeneration(), Applied: applied, Reports: reports}, nil
}

// Cleanup takes Ramp's additions back before the Rollout goes: the route
// first, so that it never names a subset that is gone.
func (r *Router) Cleanup(ctx context.Context) ([]traffic.Change, error) {
	subsets := func() ([]traffic.Change, error) {
		return r.updateDestinationRule(ctx, func(dr *unstructured.Unstructured) (string, error) {
			return r.releaseSubsets(dr), nil
		})
	}
	route := func() ([]traffic.Change, error) {
		return r.updateVirtualService(ctx, nil, func(vs *unstructured.Unstructured, route map[string]any) (string, error) {
			traffic.MarkWritten(vs, traffic.Target{Rest: true})
			return r.weigh(vs, route, traffic.Split{Stable: 100}, true)
		})
	}
	return traffic.InOrder(true, subsets, route)
}

func (r *Router) split(w rampv1.Weight) (traffic.Split, error) {
	if !r.cfg.PercentWeights {
		return traffic.Relative(w), nil
	}
	s, ok := traffic.Percent(w)
	if !ok {
		return s, traffic.Configf("FractionalWeight",
			"weight %s%% has decimals, which Istio with percentWeights cannot carry; admission refuses such steps", w)
	}
	return s, nil
}

// weigh sets the stable and canary destinations' weights in route. Not at
// rest, a missing canary destination is added as a copy of the stable one
// (and recorded); at rest, that destination is removed again.
func (r *Router) weigh(vs *unstructured.Unstructured, route map[string]any, split traffic.Split, rest bool) (string, error) {
	dests, _, _ := unstructured.NestedSlice(route, "route")
	stableName, canaryName := r.cfg.DestinationRule.StableSubsetName, r.cfg.DestinationRule.CanarySubsetName
	si := slices.IndexFunc(dests, func(d any) bool { return subset(d) == stableName })
	if si < 0 {
		return "", traffic.Configf("DestinationNotFound",
			"VirtualService %s: route %q has no destination with subset %q; add one for the stable version",
			vs.GetName(), routeName(route), stableName)
	}
	ci := slices.IndexFunc(dests, func(d any) bool { return subset(d) == canaryName })
	routeKey := routeName(route)
	if routeKey == "" {
		routeKey = "(unnamed)"
	}
	added := vs.GetAnnotations()[AnnotationAddedDestination] == routeKey
	switch {
	case ci < 0 && !rest:
		canary := runtime.DeepCopyJSON(dests[si].(map[string]any))
		_ = unstructured.SetNestedField(canary, canaryName, "destination", "subset")
		dests = append(dests, canary)
		ci = len(dests) - 1
		setAnnotation(vs, AnnotationAddedDestination, routeKey)
	case ci >= 0 && rest && added:
		dests = slices.Delete(dests, ci, ci+1)
		ci = -1
		setAnnotation(vs, AnnotationAddedDestination, "")
	}
	dests[si].(map[string]any)["weight"] = split.Stable
	if ci >= 0 {
		dests[ci].(map[string]any)["weight"] = split.Canary
	}
	route["route"] = dests
	return fmt.Sprintf("route %q: subset %s weight %d, subset %s weight %d", routeKey, stableName, split.Stable, canaryName, split.Canary), nil
}

// updateDestinationRule reads the DestinationRule, lets edit change it and
// writes it when it changed.
func (r *Router) updateDestinationRule(ctx context.Context, edit func(*unstructured.Unstructured) (string, error)) ([]traffic.Change, error) {
	dr, err := r.get(ctx, "DestinationRule", r.cfg.DestinationRule.Name)
	if err != nil {
		return nil, err
	}
	return r.write(ctx, dr, func() (string, error) { return edit(dr) })
}

// updateVirtualService reads the VirtualService, finds the route and lets
// edit change it, puts Ramp's routes for routes before it, and writes it
// when it changed.
func (r *Router) updateVirtualService(ctx context.Context, routes []rampv1.Route, edit func(*unstructured.Unstructured, map[string]any) (string, error)) ([]traffic.Change, error) {
	vs, err := r.get(ctx, "VirtualService", r.cfg.VirtualService.Name)
	if err != nil {
		return nil, err
	}
	return r.write(ctx, vs, func() (string, error) {
		http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		i, err := r.routeIndex(vs, http)
		if err != nil {
			return "", err
		}
		route := http[i].(map[string]any)
		detail, err := edit(vs, route)
		if err != nil {
			return "", err
		}
		_ = unstructured.SetNestedSlice(vs.Object, r.placeRoutes(http, route, routes), "spec", "http")
		return detail, nil
	})
}

// write applies change to obj and writes it if anything differs; a write
// of Ramp's annotations alone moves no traffic and is no Change.
func (r *Router) write(ctx context.Context, obj *unstructured.Unstructured, change func() (string, error)) ([]traffic.Change, error) {
	var detail string
	moved, _, err := traffic.Update(ctx, r.kube.Client, obj, func() (err error) {
		detail, err = change()
		return err
	})
	if err != nil || !moved {
		return nil, err
	}
	return []traffic.Change{{Object: obj.GetKind() + " " + obj.GetName(), Written: obj, Detail: detail}}, nil
}

func (r *Router) get(ctx context.Context, kind, objName string) (*unstructured.Unstructured, error) {
	version, err := r.version(kind)
	if err != nil {
		return nil, err
	}
	if obj := r.last[kind]; obj != nil {
		return obj, nil
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(schema.GroupVersionKind{Group: Group, Version: version, Kind: kind})
	err = r.kube.Client.Get(ctx, client.ObjectKey{Namespace: r.ro.Namespace, Name: objName}, obj)
	if apierrors.IsNotFound(err) {
		return nil, traffic.Configf(kind+"NotFound",
			"spec.strategy.canary.trafficRouting.istio: %s %q not found in namespace %s; create it (Ramp edits it, it does not create it)",
			kind, objName, r.ro.Namespace)
	}
	if err != nil {
		return nil, err
	}
	if r.last == nil {
		r.last = map[string]*unstructured.Unstructured{}
	}
	r.last[kind] = obj
	return obj, nil
}

// version is the newest version of kind the cluster serves.
func (r *Router) version(kind string) (string, error) {
	v, ok, err := traffic.ServedVersion(r.kube.Client.RESTMapper(), schema.GroupKind{Group: Group, Kind: kind}, Versions)
	if err != nil || ok {
		return v, err
	}
	return "", traffic.Configf("IstioNotServed",
		"the cluster serves no %s (networking.istio.io): install Istio or choose another router", kind)
}

// routeIndex finds the named HTTP route, or the only one.
func (r *Router) routeIndex(vs *unstructured.Unstructured, http []any) (int, error) {
	want := r.cfg.VirtualService.HTTPRouteName
	if want == "" {
		users := userRoutes(http)
		if len(users) == 1 {
			return slices.IndexFunc(http, func(x any) bool { return !isRamps(x) }), nil
		}
		return 0, traffic.Configf("HTTPRouteNotFound",
			"VirtualService %s has %d HTTP routes: name one in spec.strategy.canary.trafficRouting.istio.virtualService.httpRouteName", vs.GetName(), len(users))
	}
	for i, route := range http {
		if routeName(route.(map[string]any)) == want && !isRamps(route) {
			return i, nil
		}
	}
	return 0, traffic.Configf("HTTPRouteNotFound",
		"VirtualService %s has no HTTP route named %q (spec.strategy.canary.trafficRouting.istio.virtualService.httpRouteName)", vs.GetName(), want)
}

func (r *Router) route(vs *unstructured.Unstructured) (map[string]any, error) {
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	i, err := r.routeIndex(vs, http)
	if err != nil {
		return nil, err
	}
	return http[i].(map[string]any), nil
}

func routeName(route map[string]any) string {
	n, _ := route["name"].(string)
	return n
}

func name(subset any) string {
	m, _ := subset.(map[string]any)
	n, _ := m["name"].(string)
	return n
}

func subset(dest any) string {
	m, _ := dest.(map[string]any)
	s, _, _ := unstructured.NestedString(m, "destination", "subset")
	return s
}

// addedSubsets lists the subsets Ramp added to a DestinationRule.
func addedSubsets(dr *unstructured.Unstructured) []string {
	if v := dr.GetAnnotations()[AnnotationAddedSubset]; v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

func setAnnotation(obj *unstructured.Unstructured, key, value string) {
	a := obj.GetAnnotations()
	if value == "" {
		delete(a, key)
		if len(a) == 0 {
			a = nil // none, rather than an empty map the API server drops
		}
	} else {
		if a == nil {
			a = map[string]string{}
		}
		a[key] = value
	}
	obj.SetAnnotations(a)
}
