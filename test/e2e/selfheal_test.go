package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// gitopsTool is the field manager the test applies the user's manifests
// under, as Flux and Argo CD do with server-side apply: forcing conflicts,
// since what is in Git wins.
const gitopsTool = "gitops-tool"

// gitops server-side applies the user's routing objects as a GitOps tool
// would: an HTTPRoute, or a VirtualService and DestinationRule, with a
// label and a second rule that only the user writes. v2 is the manifest
// changed in Git mid-canary: a new label, a hostname (host), and a timeout
// on the user's own rule.
func gitops(t *testing.T, e *fixture.Env, router fixture.Router, v2 bool) {
	t.Helper()
	team, timeout := "a", "5s"
	if v2 {
		team, timeout = "b", "9s"
	}
	var objs []*unstructured.Unstructured
	switch router {
	case fixture.GatewayAPI:
		spec := map[string]any{
			"parentRefs": []any{map[string]any{"group": "", "kind": "Service", "name": "web", "port": int64(80)}},
			"rules": []any{
				map[string]any{"name": "main", "backendRefs": []any{map[string]any{"name": "web", "port": int64(80)}}},
				map[string]any{"name": "health", "matches": []any{map[string]any{"path": map[string]any{"type": "Exact", "value": "/healthz"}}},
					"timeouts":    map[string]any{"request": timeout},
					"backendRefs": []any{map[string]any{"name": "web-health", "port": int64(80)}}},
			},
		}
		if v2 {
			spec["hostnames"] = []any{"web.example"}
		}
		objs = append(objs, &unstructured.Unstructured{Object: map[string]any{"spec": spec}})
	case fixture.Istio:
		hosts := []any{"web"}
		if v2 {
			hosts = append(hosts, "web.example")
		}
		objs = append(objs, &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
			"hosts": hosts,
			"http": []any{
				map[string]any{"name": "health", "match": []any{map[string]any{"uri": map[string]any{"exact": "/healthz"}}}, "timeout": timeout,
					"route": []any{map[string]any{"destination": map[string]any{"host": "web", "subset": "stable"}}}},
				map[string]any{"name": "primary", "route": []any{map[string]any{"destination": map[string]any{"host": "web", "subset": "stable"}}}},
			},
		}}}, &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
			"host": "web", "subsets": []any{map[string]any{"name": "stable", "labels": map[string]any{"app": "web"}}},
		}}})
		objs[1].SetGroupVersionKind(schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"})
	}
	objs[0].SetGroupVersionKind(router.GVK())
	for _, u := range objs {
		u.SetName("web")
		u.SetNamespace(e.NS)
		u.SetLabels(map[string]string{"team": team})
		if err := e.C.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(gitopsTool), client.ForceOwnership); err != nil {
			t.Fatalf("apply %s as %s: %v", u.GetKind(), gitopsTool, err)
		}
	}
}

// owned lists the fields each field manager of u owns, as paths
// ("spec.rules", "metadata.labels.team").
func owned(u *unstructured.Unstructured) map[string][]string {
	out := map[string][]string{}
	for _, m := range u.GetManagedFields() {
		var fields map[string]any
		if m.FieldsV1 == nil || json.Unmarshal(m.FieldsV1.GetRawBytes(), &fields) != nil {
			continue
		}
		var walk func(prefix string, f map[string]any)
		walk = func(prefix string, f map[string]any) {
			for k, v := range f {
				name, ok := strings.CutPrefix(k, "f:")
				if !ok {
					continue // ".", list keys: the fields above are enough
				}
				path := strings.TrimPrefix(prefix+"."+name, ".")
				if sub, _ := v.(map[string]any); len(sub) > 0 && !(len(sub) == 1 && sub["."] != nil) {
					walk(path, sub)
				} else {
					out[m.Manager] = append(out[m.Manager], path)
				}
			}
		}
		walk("", fields)
		slices.Sort(out[m.Manager])
	}
	return out
}

// TestGitOpsReapplyKeepsBothSides: the user's routing objects live in
// Git and a GitOps tool applies them server-side under its own field
// manager; Ramp, mid-canary, owns only the lists it writes (the rules' or
// routes' list, which the routing APIs declare atomic, and the
// DestinationRule's subsets) and its own annotation. When the tool
// applies the user's changed manifest, which puts the list back as Git has
// it, Ramp writes its weights back at once, and every change of the user's
// stays: nobody undoes the other.
func TestGitOpsReapplyKeepsBothSides(t *testing.T) {
	t.Parallel()
	for _, router := range []fixture.Router{fixture.GatewayAPI, fixture.Istio} {
		t.Run(string(router), func(t *testing.T) {
			t.Parallel()
			e, _ := meshed(t)
			ro := e.Rollout("web", "web:v1", fixture.SetWeight(30), fixture.Pause(0))
			ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
			e.Route(ro, router) // the root Service; for Istio, objects the next apply takes over
			if router == fixture.Istio {
				ro.Spec.Strategy.Canary.TrafficRouting.Istio.VirtualService.HTTPRouteName = "primary"
			}
			gitops(t, e, router, false)
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: fixture.AnyReplicas}, fixture.Wait)

			routing := e.GetObject(router.GVK(), "web")
			if w := fixture.CanaryWeight(routing); !near30(w) {
				t.Fatalf("canary weight %v before the re-apply, want 30", w)
			}
			list := map[fixture.Router]string{fixture.GatewayAPI: "spec.rules", fixture.Istio: "spec.http"}[router]
			ramp := owned(routing)[manager.FieldManager]
			for _, f := range ramp {
				if f != list && !strings.HasPrefix(f, "metadata.annotations.ramp.dev/") {
					t.Errorf("%s owns %s of the %s: it should own only %s and its annotations (%v)", manager.FieldManager, f, router.GVK().Kind, list, ramp)
				}
			}
			if !slices.Contains(ramp, list) {
				t.Errorf("%s does not own %s, which it wrote: %v", manager.FieldManager, list, owned(routing))
			}
			for _, f := range []string{"metadata.labels.team", "spec." + map[fixture.Router]string{fixture.GatewayAPI: "parentRefs", fixture.Istio: "hosts"}[router]} {
				if !slices.Contains(owned(routing)[gitopsTool], f) {
					t.Errorf("%s no longer owns %s: %v", gitopsTool, f, owned(routing))
				}
			}

			// Git changes; the tool applies. Ramp puts the canary's weight
			// back, and the user's changes stay.
			applied := time.Now()
			gitops(t, e, router, true)
			clustertest.Eventually(t, fixture.Wait, "both sides' fields", func(ctx context.Context) (bool, string) {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(router.GVK())
				if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, u); err != nil {
					return false, err.Error()
				}
				if router == fixture.Istio { // the canary subset must be back too
					dr := &unstructured.Unstructured{}
					dr.SetGroupVersionKind(schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"})
					if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, dr); err != nil {
						return false, err.Error()
					}
					if ok, why := canarySubset(dr); !ok {
						return false, why
					}
				}
				return bothSides(u, router)
			})
			t.Logf("%s: weight back at 30%% with the user's changes %s after the re-apply (polled every 50 ms)", router, time.Since(applied).Round(time.Millisecond))

			// The promotion leaves the user's changes too.
			e.Request("web", rampv1.AnnotationPromote)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: fixture.AnyReplicas}, fixture.Wait)
			if ok, why := userSide(e.GetObject(router.GVK(), "web"), router); !ok {
				t.Errorf("after the promotion: %s", why)
			}
		})
	}
}

// bothSides: the canary's weight is Ramp's (30) and the user's v2
// changes are there.
func bothSides(u *unstructured.Unstructured, router fixture.Router) (bool, string) {
	if w := fixture.CanaryWeight(u); !near30(w) {
		return false, fmt.Sprintf("canary weight %v", w)
	}
	return userSide(u, router)
}

// canarySubset: the DestinationRule has a canary subset pinned to a
// revision, as Ramp keeps it mid-canary.
func canarySubset(dr *unstructured.Unstructured) (bool, string) {
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	for _, s := range subsets {
		m, _ := s.(map[string]any)
		if labels, _ := m["labels"].(map[string]any); m["name"] == "canary" && labels[rampv1.LabelRevision] != nil {
			return true, ""
		}
	}
	return false, fmt.Sprintf("no canary subset pinned to a revision: %v", subsets)
}

// near30: w is 30% as the router writes it (Gateway API's integer
// weights make it 30/101).
func near30(w float64) bool { return math.Abs(w-30) < 0.5 }

// userSide: the user's v2 changes are there.
func userSide(u *unstructured.Unstructured, router fixture.Router) (bool, string) {
	if u.GetLabels()["team"] != "b" {
		return false, "label team=" + u.GetLabels()["team"]
	}
	raw, _ := json.Marshal(u.Object["spec"])
	for _, want := range []string{`"web.example"`, `"9s"`} {
		if !strings.Contains(string(raw), want) {
			return false, "no " + want + " in " + string(raw)
		}
	}
	return true, ""
}
