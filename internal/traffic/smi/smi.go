// Package smi routes canary traffic with an SMI TrafficSplit
// (split.smi-spec.io): Linkerd through linkerd-smi, Open Service Mesh,
// Consul, Traefik Mesh. The split's root is the Rollout's root Service and
// its backends the stable and canary Services Ramp keeps.
package smi

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// GroupKind of the TrafficSplit.
var GroupKind = schema.GroupKind{Group: "split.smi-spec.io", Kind: "TrafficSplit"}

// Versions Ramp writes, newest first.
var Versions = []string{"v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"}

// Router is the SMI router of one Rollout.
type Router struct {
	kube traffic.Kube
	ro   *rampv1.Rollout
	cfg  rampv1.SMIRouting
	// last is the TrafficSplit as last read or written by this router. A
	// router lives for one reconcile pass, so a rollback writes right
	// after the pass's own read, without a second one.
	last *unstructured.Unstructured
}

var _ traffic.Router = (*Router)(nil)

// New returns the SMI router of ro.
func New(k traffic.Kube, ro *rampv1.Rollout) *Router {
	return &Router{kube: k, ro: ro, cfg: *ro.Spec.Strategy.Canary.TrafficRouting.SMI}
}

// Name is the TrafficSplit's name.
func Name(ro *rampv1.Rollout) string {
	if n := ro.Spec.Strategy.Canary.TrafficRouting.SMI.TrafficSplitName; n != "" {
		return n
	}
	return ro.Name
}

// Replicas keeps the stable revision at full scale.
func (r *Router) Replicas(replicas int32, w rampv1.Weight) (int32, int32) {
	return traffic.MeshReplicas(r.ro.Spec.Strategy.Canary.CanaryScale, replicas, w)
}

// Version returns the TrafficSplit version to write: the pinned one if it
// is served, else the newest served one Ramp knows.
func (r *Router) Version() (string, error) {
	mappings, err := r.kube.Client.RESTMapper().RESTMappings(GroupKind)
	if err != nil && !meta.IsNoMatchError(err) {
		return "", err
	}
	served := map[string]bool{}
	for _, m := range mappings {
		served[m.GroupVersionKind.Version] = true
	}
	if pin := r.cfg.APIVersion; pin != "" {
		v := schema.FromAPIVersionAndKind(pin, "").Version
		if !served[v] {
			return "", traffic.Configf("TrafficSplitNotServed",
				"spec.strategy.canary.trafficRouting.smi.apiVersion: the cluster does not serve %s; leave it empty to use the newest served version", pin)
		}
		return v, nil
	}
	for _, v := range Versions {
		if served[v] {
			return v, nil
		}
	}
	return "", traffic.Configf("TrafficSplitNotServed",
		"the cluster serves no TrafficSplit (split.smi-spec.io): install your mesh's SMI extension (linkerd-smi for Linkerd) or choose another router")
}

// SetWeight points the stable and canary Services at their revisions, then
// writes the weights into the TrafficSplit, creating it if missing.
func (r *Router) SetWeight(ctx context.Context, t traffic.Target) ([]traffic.Change, error) {
	_, changes, err := traffic.PointServices(ctx, r.kube, r.ro, t)
	if err != nil {
		return changes, err
	}
	version, err := r.Version()
	if err != nil {
		return changes, err
	}
	want := backends(version, traffic.StableServiceName(r.ro), traffic.CanaryServiceName(r.ro), t.Weight)

	ts, err := r.get(ctx, version)
	if apierrors.IsNotFound(err) {
		ts = &unstructured.Unstructured{}
		ts.SetGroupVersionKind(GroupKind.WithVersion(version))
		ts.SetName(Name(r.ro))
		ts.SetNamespace(r.ro.Namespace)
		ts.SetLabels(map[string]string{traffic.LabelRollout: r.ro.Name})
		if err := controllerutil.SetControllerReference(r.ro, ts, r.kube.Scheme); err != nil {
			return changes, err
		}
		_ = unstructured.SetNestedField(ts.Object, r.ro.Spec.Service, "spec", "service")
		_ = unstructured.SetNestedSlice(ts.Object, want, "spec", "backends")
		if err := r.kube.Client.Create(ctx, ts); err != nil {
			return changes, fmt.Errorf("create TrafficSplit %s: %w", ts.GetName(), err)
		}
		r.last = ts
		return append(changes, traffic.Change{Object: "TrafficSplit " + ts.GetName(), Created: true, Detail: describe(want)}), nil
	}
	if err != nil {
		return changes, err
	}
	have, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
	service, _, _ := unstructured.NestedString(ts.Object, "spec", "service")
	if service == r.ro.Spec.Service && equalBackends(have, want) {
		return changes, nil
	}
	orig := ts.DeepCopy()
	_ = unstructured.SetNestedField(ts.Object, r.ro.Spec.Service, "spec", "service")
	_ = unstructured.SetNestedSlice(ts.Object, want, "spec", "backends")
	if err := r.kube.Client.Patch(ctx, ts, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return changes, fmt.Errorf("update TrafficSplit %s: %w", ts.GetName(), err)
	}
	return append(changes, traffic.Change{Object: "TrafficSplit " + ts.GetName(), Detail: describe(have) + " → " + describe(want)}), nil
}

// Verify reads the canary's share back from the TrafficSplit.
func (r *Router) Verify(ctx context.Context, _ traffic.Pods) (rampv1.Weight, error) {
	version, err := r.Version()
	if err != nil {
		return 0, err
	}
	ts, err := r.get(ctx, version)
	if apierrors.IsNotFound(err) {
		return 0, nil // nothing routes to the canary
	}
	if err != nil {
		return 0, err
	}
	have, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
	return share(have, traffic.CanaryServiceName(r.ro)), nil
}

// Cleanup has nothing to take back: Ramp owns the TrafficSplit and the
// Services, which stay at 100% stable between canaries and go with the
// Rollout.
func (r *Router) Cleanup(context.Context) ([]traffic.Change, error) { return nil, nil }

func (r *Router) get(ctx context.Context, version string) (*unstructured.Unstructured, error) {
	if r.last != nil && r.last.GroupVersionKind().Version == version {
		return r.last, nil
	}
	ts := &unstructured.Unstructured{}
	ts.SetGroupVersionKind(GroupKind.WithVersion(version))
	if err := r.kube.Client.Get(ctx, client.ObjectKey{Namespace: r.ro.Namespace, Name: Name(r.ro)}, ts); err != nil {
		return ts, err
	}
	r.last = ts
	return ts, nil
}

func describe(backends []any) string {
	var parts []string
	for _, b := range backends {
		m, _ := b.(map[string]any)
		parts = append(parts, fmt.Sprintf("%v=%v", m["service"], m["weight"]))
	}
	return fmt.Sprint(parts)
}

func equalBackends(have, want []any) bool {
	return slices.EqualFunc(have, want, func(a, b any) bool {
		am, _ := a.(map[string]any)
		bm, _ := b.(map[string]any)
		return len(am) == len(bm) && fmt.Sprint(am["service"]) == fmt.Sprint(bm["service"]) && weightOf(am["weight"]) == weightOf(bm["weight"])
	})
}
