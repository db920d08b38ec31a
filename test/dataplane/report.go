package dataplane

import (
	"context"
	"fmt"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// routesApplied wakes the reporter: a proxy applied new routes.
func (m *Mesh) routesApplied() {
	select {
	case m.reports <- struct{}{}:
	default:
	}
}

// reporter writes into each routing object's status the generation every
// proxy has applied, once per generation.
func (m *Mesh) reporter(ctx context.Context) {
	reported := map[objectRef]int64{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.reports:
		}
		rt := m.proxies[0].routes.cur.Load()
		if rt == nil {
			continue
		}
		for ref := range rt.generations {
			g := m.appliedGeneration(ref)
			if g == 0 || g == reported[ref] {
				continue
			}
			if err := m.report(ctx, ref, g); err != nil {
				if ctx.Err() != nil || apierrors.IsNotFound(err) {
					continue
				}
				if !apierrors.IsConflict(err) {
					fmt.Fprintf(os.Stderr, "dataplane: report %s %s generation %d: %v\n", ref.gvk.Kind, ref.name, g, err)
				}
				time.AfterFunc(100*time.Millisecond, m.routesApplied)
				continue
			}
			reported[ref] = g
		}
	}
}

// report writes that every proxy applied generation g of an object: for an
// HTTPRoute, an Accepted and a ResolvedRefs condition of that
// observedGeneration for each of its parents; for Istio's objects,
// status.observedGeneration and a Reconciled condition.
func (m *Mesh) report(ctx context.Context, ref objectRef, g int64) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ref.gvk)
	if err := m.writer.Get(ctx, client.ObjectKey{Namespace: m.namespace, Name: ref.name}, u); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	condition := func(typ, message string) map[string]any {
		return map[string]any{"type": typ, "status": "True", "reason": typ, "message": message,
			"observedGeneration": g, "lastTransitionTime": now}
	}
	applied := fmt.Sprintf("every proxy (%d) applied generation %d", len(m.proxies), g)
	if ref.gvk == httpRouteGVK {
		parentRefs, _, _ := unstructured.NestedSlice(u.Object, "spec", "parentRefs")
		var parents []any
		for _, p := range parentRefs {
			parents = append(parents, map[string]any{
				"parentRef": p, "controllerName": ControllerName,
				"conditions": []any{condition("Accepted", applied), condition("ResolvedRefs", "every backend resolved")},
			})
		}
		u.Object["status"] = map[string]any{"parents": parents}
	} else {
		u.Object["status"] = map[string]any{
			"observedGeneration": g,
			"conditions":         []any{condition("Reconciled", applied)},
		}
	}
	return m.writer.Status().Update(ctx, u)
}
