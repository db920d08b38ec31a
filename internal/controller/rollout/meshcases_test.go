package rollout_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
)

// The mesh routers under test, and how tests read what each wrote.

var (
	trafficSplitGVK    = schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplit"}
	httpRouteGVK       = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	virtualServiceGVK  = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	destinationRuleGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
	serviceGVK         = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
)

// meshCase is one router under test: how to configure it, what to create
// first, and how to read the canary's weight from the object it writes.
type meshCase struct {
	name    string
	routing rampv1.TrafficRouting
	setup   []string // YAML objects the user owns
	gvk     schema.GroupVersionKind
	object  string // the routing object's name
	// weights reads the routing object's (stable, canary) weights.
	weights func(*unstructured.Unstructured) string
	// stableOf reads which revision the stable Service or subset selects.
	stableOf stableReader
	// halve sets the weights to 50:50, as a hand edit would.
	halve func(*unstructured.Unstructured)
	// owned: Ramp created the routing object and deletes it with the Rollout.
	owned bool
}

type stableReader struct {
	gvk  schema.GroupVersionKind
	name string
	read func(*unstructured.Unstructured) string
}

var serviceSelects = stableReader{gvk: serviceGVK, name: "web-stable", read: func(u *unstructured.Unstructured) string {
	rev, _, _ := unstructured.NestedString(u.Object, "spec", "selector", rampv1.LabelRevision)
	return rev
}}

func meshCases() []meshCase {
	return []meshCase{
		{
			name:     "smi",
			routing:  rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}},
			gvk:      trafficSplitGVK,
			object:   "web",
			weights:  backendWeights("spec", "backends"),
			stableOf: serviceSelects,
			halve:    setEach("spec", "backends", "service"),
			owned:    true,
		},
		{
			name:     "gatewayapi",
			routing:  rampv1.TrafficRouting{GatewayAPI: &rampv1.GatewayAPIRouting{}},
			gvk:      httpRouteGVK,
			object:   "web",
			weights:  httpRouteWeights,
			stableOf: serviceSelects,
			halve: func(u *unstructured.Unstructured) {
				rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
				refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
				for _, r := range refs {
					r.(map[string]any)["weight"] = int64(50)
				}
				rules[0].(map[string]any)["backendRefs"] = refs
				_ = unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
			},
			owned: true,
		},
		{
			name: "istio",
			routing: rampv1.TrafficRouting{Istio: &rampv1.IstioRouting{
				VirtualService:  rampv1.IstioVirtualService{Name: "web", HTTPRouteName: "primary"},
				DestinationRule: rampv1.IstioDestinationRule{Name: "web", StableSubsetName: "stable", CanarySubsetName: "canary"},
			}},
			setup:   []string{istioVirtualService, istioDestinationRule},
			gvk:     virtualServiceGVK,
			object:  "web",
			weights: virtualServiceWeights,
			stableOf: stableReader{gvk: destinationRuleGVK, name: "web", read: func(u *unstructured.Unstructured) string {
				return subsetLabel(u, "stable")
			}},
			halve: func(u *unstructured.Unstructured) {
				http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
				for _, r := range http {
					if r.(map[string]any)["name"] == "primary" {
						dests, _, _ := unstructured.NestedSlice(r.(map[string]any), "route")
						for _, d := range dests {
							d.(map[string]any)["weight"] = int64(50)
						}
						r.(map[string]any)["route"] = dests
					}
				}
				_ = unstructured.SetNestedSlice(u.Object, http, "spec", "http")
			},
		},
	}
}

const istioVirtualService = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: health
    match: [{uri: {prefix: /healthz}}]
    route: [{destination: {host: web, subset: stable}}]
  - name: primary
    retries: {attempts: 3}
    route: [{destination: {host: web, subset: stable, port: {number: 80}}}]
`

const istioDestinationRule = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
  - name: stable
    labels: {tier: web}
`

// routeEvents maps the resourceVersions of the routing object's writes
// that the Rollout's Events tell of to their notes.
func routeEvents(e *fixture.Env, kind, name string) map[string]string {
	var list eventsv1.EventList
	if err := e.C.List(context.Background(), &list, client.InNamespace(e.NS)); err != nil {
		e.T.Fatal(err)
	}
	told := map[string]string{}
	for _, ev := range list.Items {
		if ev.Regarding.Kind != "Rollout" {
			continue
		}
		for _, w := range fixture.Written(&ev) {
			if rv, ok := strings.CutPrefix(w, kind+"/"+name+"@"); ok {
				told[rv] = strings.Join(fixture.Reasons(&ev), ",") + ": " + ev.Note
			}
		}
	}
	return told
}

// meshRollout creates the root Service, the case's user-owned objects
// (returned as created) and a Rollout of v1 routed by the case, and waits
// until it is Healthy.
func meshRollout(t *testing.T, e *fixture.Env, mc meshCase, steps ...rampv1.Step) []*unstructured.Unstructured {
	t.Helper()
	return meshRolloutWith(t, e, mc, nil, steps...)
}

// meshRolloutWith is meshRollout with the Rollout changed before it is
// created.
func meshRolloutWith(t *testing.T, e *fixture.Env, mc meshCase, change func(*rampv1.Rollout), steps ...rampv1.Step) []*unstructured.Unstructured {
	t.Helper()
	createRootService(e)
	var created []*unstructured.Unstructured
	for _, obj := range mc.setup {
		u := parse(t, obj)
		u.SetNamespace(e.NS)
		e.Create(u)
		created = append(created, u.DeepCopy())
	}
	ro := e.Rollout("web", "web:v1", steps...)
	ro.Spec.Service = "web"
	ro.Spec.Strategy.Canary.TrafficRouting = &mc.routing
	if change != nil {
		change(ro)
	}
	fixture.ShortMeshDelays(ro)
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	return created
}

func createRootService(e *fixture.Env) {
	e.Create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	})
}

func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// backendWeights reads "stable:canary" from TrafficSplit backends.
func backendWeights(path ...string) func(*unstructured.Unstructured) string {
	return func(u *unstructured.Unstructured) string {
		backends, _, _ := unstructured.NestedSlice(u.Object, path...)
		return stableCanary(backends, "service")
	}
}

// httpRouteWeights reads "stable:canary" from the first rule's backendRefs.
func httpRouteWeights(u *unstructured.Unstructured) string {
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	if len(rules) == 0 {
		return "-"
	}
	refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	return stableCanary(refs, "name")
}

// stableCanary reads the weights of the entries named web-stable and
// web-canary by their key field.
func stableCanary(entries []any, key string) string {
	var s, c any = "-", "-"
	for _, entry := range entries {
		m := entry.(map[string]any)
		switch m[key] {
		case "web-stable":
			s = m["weight"]
		case "web-canary":
			c = m["weight"]
		}
	}
	return fmt.Sprintf("%v:%v", s, c)
}

func virtualServiceWeights(u *unstructured.Unstructured) string {
	http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
	for _, r := range http {
		m := r.(map[string]any)
		if m["name"] != "primary" {
			continue
		}
		dests, _, _ := unstructured.NestedSlice(m, "route")
		var s, c any = "-", "0"
		for _, d := range dests {
			dm := d.(map[string]any)
			subset, _, _ := unstructured.NestedString(dm, "destination", "subset")
			w, found := dm["weight"]
			if !found {
				w = "100"
			}
			switch subset {
			case "stable":
				s = w
			case "canary":
				c = w
			}
		}
		return fmt.Sprintf("%v:%v", s, c)
	}
	return "-"
}

func subsetLabel(u *unstructured.Unstructured, subset string) string {
	subsets, _, _ := unstructured.NestedSlice(u.Object, "spec", "subsets")
	for _, s := range subsets {
		m := s.(map[string]any)
		if m["name"] == subset {
			v, _, _ := unstructured.NestedString(m, "labels", rampv1.LabelRevision)
			return v
		}
	}
	return ""
}
