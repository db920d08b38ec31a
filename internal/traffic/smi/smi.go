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
	newest, served, err := traffic.ServedVersion(r.kube.Client.RESTMapper(), GroupKind, Versions)
	if err != nil {
		return "", err
	}
	if pin := r.cfg.APIVersion; pin != "" {
		v := schema.FromAPIVersionAndKind(pin, "").Version
		_, ok, err := traffic.ServedVersion(r.kube.Client.RESTMapper(), GroupKind, []string{v})
		if err != nil {
			return "", err
		}
		if !ok {
			return "", traffic.Configf("TrafficSplitNotServed",
				"spec.strategy.canary.trafficRouting.smi.apiVersion: the cluster does not serve %s; leave it empty to use the newest served version", pin)
		}
		return v, nil
	}
	if !served {
		return "", traffic.Configf("TrafficSplitNotServed",
			"the cluster serves no TrafficSplit (split.smi-spec.io): install your mesh's SMI extension (linkerd-smi for Linkerd) or choose another router")
	}
	return newest, nil
}

// SetWeight points the stable and canary Services at their revisions and
// writes the weights into the TrafficSplit, creating it if missing; the
// order of the two follows traffic.WeightFirst.
func (r *Router) SetWeight(ctx context.Context, t traffic.Target) ([]traffic.Change, error) {
	if len(t.Routes) > 0 {
		return nil, traffic.NoRoutes()
	}
	version, err := r.Version()
	if err != nil {
		return nil, err
	}
	ts, err := r.get(ctx, version)
	missing := apierrors.IsNotFound(err)
	if err != nil && !missing {
		return nil, err
	}
	var now rampv1.Weight
	if !missing {
		have, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
		now = share(have, traffic.CanaryServiceName(r.ro))
	}
	services := func() ([]traffic.Change, error) {
		_, c, err := traffic.PointServices(ctx, r.kube, r.ro, t)
		return c, err
	}
	weights := func() ([]traffic.Change, error) { return r.writeSplit(ctx, version, ts, missing, t) }
	return traffic.InOrder(traffic.WeightFirst(now, t), services, weights)
}

// writeSplit creates the TrafficSplit, or writes its service and backends
// when they differ from t's.
func (r *Router) writeSplit(ctx context.Context, version string, ts *unstructured.Unstructured, missing bool, t traffic.Target) ([]traffic.Change, error) {
	want := backends(version, traffic.StableServiceName(r.ro), traffic.CanaryServiceName(r.ro), t.Weight)
	if missing {
		ts = &unstructured.Unstructured{}
		ts.SetGroupVersionKind(GroupKind.WithVersion(version))
		ts.SetName(Name(r.ro))
		ts.SetNamespace(r.ro.Namespace)
		ts.SetLabels(rampv1.CreatedLabels(r.ro.Name))
		if err := controllerutil.SetControllerReference(r.ro, ts, r.kube.Scheme); err != nil {
			return nil, err
		}
		_ = unstructured.SetNestedField(ts.Object, r.ro.Spec.Service, "spec", "service")
		_ = unstructured.SetNestedSlice(ts.Object, want, "spec", "backends")
		traffic.MarkWritten(ts, t)
		if err := r.kube.Client.Create(ctx, ts); err != nil {
			return nil, fmt.Errorf("create TrafficSplit %s: %w", ts.GetName(), err)
		}
		r.last = ts
		return []traffic.Change{{Object: "TrafficSplit " + ts.GetName(), Written: ts, Created: true, Detail: describe(want)}}, nil
	}
	have, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
	moved, _, err := traffic.Update(ctx, r.kube.Client, ts, func() error {
		traffic.MarkWritten(ts, t)
		return r.setSpec(ts, r.ro.Spec.Service, want)
	})
	if err != nil || !moved {
		return nil, err // a write of the weight's record alone moves no traffic
	}
	return []traffic.Change{{Object: "TrafficSplit " + ts.GetName(), Written: ts, Detail: describe(have) + " → " + describe(want)}}, nil
}

// setSpec sets service and backends, keeping the backends as they are
// when they carry the same weights in the form their version wants: a
// quantity such as "1" and "1000m" is one weight, and not a change.
func (r *Router) setSpec(ts *unstructured.Unstructured, service string, backends []any) error {
	if have, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends"); equalBackends(have, backends) {
		backends = have
	}
	if err := unstructured.SetNestedField(ts.Object, service, "spec", "service"); err != nil {
		return err
	}
	return unstructured.SetNestedSlice(ts.Object, backends, "spec", "backends")
}

// Verify reads the canary's share back from the TrafficSplit.
func (r *Router) Verify(ctx context.Context) (traffic.Reading, error) {
	version, err := r.Version()
	if err != nil {
		return traffic.Reading{}, err
	}
	ts, err := r.get(ctx, version)
	if apierrors.IsNotFound(err) {
		return traffic.Reading{}, nil // nothing routes to the canary
	}
	if err != nil {
		return traffic.Reading{}, err
	}
	have, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
	// SMI has no status: what the proxies applied is not known.
	return traffic.Reading{Weight: share(have, traffic.CanaryServiceName(r.ro)), Written: traffic.ReadWritten(ts), Generation: ts.GetGeneration(),
		Stable: slices.ContainsFunc(have, func(b any) bool {
			m, _ := b.(map[string]any)
			return m["service"] == traffic.StableServiceName(r.ro)
		})}, nil
}

// Cleanup gives the TrafficSplit back to the root Service alone: the
// stable and canary Services go with the Rollout. One Ramp created goes
// with the Rollout too, released first all the same, so that the proxies
// leave those Services before they go.
func (r *Router) Cleanup(ctx context.Context) ([]traffic.Change, error) {
	version, err := r.Version()
	if err != nil {
		return nil, err
	}
	ts, err := r.get(ctx, version)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	weight := any(int64(100))
	if version == "v1alpha1" {
		weight = "100"
	}
	root := []any{map[string]any{"service": r.ro.Spec.Service, "weight": weight}}
	moved, _, err := traffic.Update(ctx, r.kube.Client, ts, func() error {
		traffic.MarkWritten(ts, traffic.Target{Rest: true})
		return r.setSpec(ts, r.ro.Spec.Service, root)
	})
	if err != nil || !moved {
		return nil, err
	}
	return []traffic.Change{{Object: "TrafficSplit " + ts.GetName(), Written: ts, Detail: "all traffic to Service " + r.ro.Spec.Service}}, nil
}

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

// equalBackends compares backends as written: a weight must also have the
// form its version wants (a quantity string for v1alpha1, an integer for
// later versions), so that a change of version rewrites it.
func equalBackends(have, want []any) bool {
	return slices.EqualFunc(have, want, func(a, b any) bool {
		am, _ := a.(map[string]any)
		bm, _ := b.(map[string]any)
		_, aString := am["weight"].(string)
		_, bString := bm["weight"].(string)
		return len(am) == len(bm) && am["service"] == bm["service"] &&
			aString == bString && weightOf(am["weight"]) == weightOf(bm["weight"])
	})
}
