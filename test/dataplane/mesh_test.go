package dataplane_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) { fixture.Main(m) }

var httpRouteGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}

// versions runs Deployments "a" and "b" (pods answering their name) and a
// Service for each, and a root Service web over both.
func versions(t *testing.T, e *fixture.Env) {
	t.Helper()
	for _, v := range []string{"a", "b"} {
		labels := map[string]string{"app": "web", "version": v}
		e.Create(&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: v, Namespace: e.NS},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "app", Image: "app:" + v, Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
						Env: []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: v}},
					}}},
				},
			},
		})
		e.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-" + v, Namespace: e.NS},
			Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}})
	}
	e.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}})
}

// route is an HTTPRoute attached to Service web (a GAMMA mesh route)
// sending all to web-a, or to web-b.
func route(ns, to string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"group": "", "kind": "Service", "name": "web", "port": int64(80)}},
			"rules": []any{map[string]any{"backendRefs": []any{
				map[string]any{"name": "web-a", "port": int64(80), "weight": all(to == "a")},
				map[string]any{"name": "web-b", "port": int64(80), "weight": all(to == "b")},
			}}},
		},
	}}
	u.SetGroupVersionKind(httpRouteGVK)
	u.SetName("web")
	u.SetNamespace(ns)
	return u
}

func all(yes bool) int64 {
	if yes {
		return 1
	}
	return 0
}

// TestProxiesLag: a change of an HTTPRoute reaches each proxy after its
// lag, not before; with no lag, at once. With Report, the route's status
// says the generation only once every proxy runs it.
func TestProxiesLag(t *testing.T) {
	for _, lag := range []time.Duration{0, time.Second} {
		t.Run(fmt.Sprint(lag), func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			versions(t, e)
			plane, err := dataplane.Start(context.Background(), clustertest.Config(t), e.NS, dataplane.Options{
				Mesh: dataplane.MeshOptions{Proxies: 3, RouteLag: dataplane.Lag{Base: lag}, Report: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(plane.Close)
			r := route(e.NS, "a")
			e.Create(r)
			urls, err := plane.Mesh.URLs("web")
			if err != nil {
				t.Fatal(err)
			}
			// Every proxy serves a from its four pods... once it knows them.
			clustertest.Eventually(t, fixture.Wait, "every proxy answering from a", func(ctx context.Context) (bool, string) {
				_, _, served := dataplane.Load(ctx, urls, 1000, 30).Snapshot()
				return served["a"] == 30, fmt.Sprint(served)
			})

			statuses := e.Record(httpRouteGVK)
			current := e.GetObject(httpRouteGVK, "web")
			next := route(e.NS, "b")
			next.SetResourceVersion(current.GetResourceVersion())
			if err := e.C.Update(context.Background(), next); err != nil {
				t.Fatal(err)
			}
			changed := time.Now()
			tally := dataplane.Load(context.Background(), urls, 300, 300*int(lag/time.Second+1)+300)
			// The load began right after the change: its clock is the change's.
			var lastA, firstB time.Duration
			for _, req := range tally.Requests() {
				sent := req.At
				switch req.Version {
				case "a":
					lastA = max(lastA, sent)
				case "b":
					if firstB == 0 || sent < firstB {
						firstB = sent
					}
				}
			}
			t.Logf("lag %s: first request answered by b %s after the change, last by a %s after", lag, firstB, lastA)
			if failed, _ := tally.Failures(); len(failed) > 0 {
				t.Errorf("%d requests failed; the first: %+v", len(failed), failed[0])
			}
			switch {
			case lag > 0 && firstB < lag-50*time.Millisecond:
				t.Errorf("a proxy applied the change %s after it, before its lag of %s", firstB, lag)
			case lag > 0 && lastA < lag-50*time.Millisecond:
				t.Errorf("the proxies all applied the change by %s, before their lag of %s", lastA, lag)
			case lag == 0 && lastA > 500*time.Millisecond:
				t.Errorf("with no lag, a proxy still sent to a %s after the change", lastA)
			}

			// The report: the route's generation, written only after
			// every proxy applied it.
			generation := next.GetGeneration()
			clustertest.Eventually(t, fixture.Wait, "the route's status to report the change", func(context.Context) (bool, string) {
				for _, w := range statuses.Writes("web") {
					if applied := acceptedGeneration(w.Object); applied >= generation {
						if took := w.Seen.Sub(changed); took < lag {
							t.Errorf("generation %d reported %s after the change, before the proxies' lag of %s", generation, took, lag)
						}
						return true, ""
					}
				}
				return false, "not reported"
			})
		})
	}
}

func acceptedGeneration(u *unstructured.Unstructured) int64 {
	parents, _, _ := unstructured.NestedSlice(u.Object, "status", "parents")
	low := int64(-1)
	for _, p := range parents {
		conds, _, _ := unstructured.NestedSlice(p.(map[string]any), "conditions")
		for _, c := range conds {
			cm := c.(map[string]any)
			if cm["type"] == "Accepted" {
				g, _, _ := unstructured.NestedInt64(cm, "observedGeneration")
				if low < 0 || g < low {
					low = g
				}
			}
		}
	}
	return low
}
