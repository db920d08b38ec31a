package rollout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// userService creates the Service clients call, as its owner would: its
// own label, annotation and selector, which Ramp must keep.
func userService(e *fixture.Env, name string) {
	e.Create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS, Labels: map[string]string{"team": "payments"},
			Annotations: map[string]string{"owner": "payments"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	})
}

// selects waits until Service name selects revision number rev of the
// Rollout web (0: every pod of it, as at rest) and the user's app label
// with it, and returns it.
func selects(t *testing.T, e *fixture.Env, name string, rev int) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	clustertest.Eventually(t, fixture.Wait, fmt.Sprintf("Service %s to select revision %d", name, rev), func(ctx context.Context) (bool, string) {
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: name}, svc); err != nil {
			return false, err.Error()
		}
		hash := ""
		if rev > 0 {
			var err error
			if hash, err = revisionHash(ctx, e, "web", rev); err != nil {
				return false, err.Error()
			}
		}
		return svc.Spec.Selector[rampv1.LabelRevision] == hash && svc.Spec.Selector["app"] == "web",
			fmt.Sprintf("selector %v, revision %d is %s", svc.Spec.Selector, rev, hash)
	})
	return svc
}

// revisionHash is the pod-template hash of a Rollout's revision number rev.
func revisionHash(ctx context.Context, e *fixture.Env, name string, rev int) (string, error) {
	rss, err := e.ReplicaSets(ctx, name)
	if err != nil {
		return "", err
	}
	for _, rs := range rss {
		if rs.Annotations[rampv1.AnnotationRevisionNumber] == fmt.Sprint(rev) {
			return rs.Labels[rampv1.LabelRevision], nil
		}
	}
	return "", fmt.Errorf("no revision %d", rev)
}

// TestBlueGreen takes a blue/green Rollout without a mesh through its
// story: the user's active Service kept but for the revision it selects,
// a preview Service created, the new version checked behind it at its
// preview size, promoted by hand, switched in one write, checked again
// and switched back when that fails, with the old version's pods there
// all along; then a version that passes, and the Rollout's deletion
// giving the Service back.
func TestBlueGreen(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	post := fixture.NewTestSystem(t, func(n int, _ fixture.Call) (int, string) {
		if n == 0 {
			return http.StatusInternalServerError, "smoke tests failed on the active Service"
		}
		return http.StatusOK, "ok"
	})
	// The check runs once the preview's pods are up: it answers 500 if
	// the preview's ReplicaSet has fewer than its 2 pods available.
	pre := fixture.NewTestSystem(t, func(int, fixture.Call) (int, string) {
		rss, err := e.ReplicaSets(context.Background(), "web")
		if err != nil || len(rss) < 2 || rss[len(rss)-1].Status.AvailableReplicas < 2 {
			return http.StatusInternalServerError, "the preview has no pods to test"
		}
		return http.StatusOK, "ok"
	})
	rss := e.Record(replicaSetGVK)
	services := e.Record(schema.GroupVersionKind{Version: "v1", Kind: "Service"})
	userService(e, "web")
	e.Create(e.BlueGreen("web", "web:v1", rampv1.BlueGreenStrategy{
		ActiveService:       "web",
		PreviewReplicaCount: ptr.To[int32](2),
		PrePromotion:        []rampv1.Step{webhookStep(rampv1.WebhookHook{URL: pre.URL + "/preview?svc={{.CanaryService}}"})},
		PostPromotion:       []rampv1.Step{webhookStep(rampv1.WebhookHook{URL: post.URL + "/active"})},
	}))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	// At rest both select every pod of the Rollout, as the user wrote.
	selects(t, e, "web", 0)
	selects(t, e, "web-preview", 0)

	// v2 runs its preview pods beside all of v1's, passes its check
	// through the preview Service, and waits for a person.
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:2"}, fixture.Wait)
	active := selects(t, e, "web", 1)
	preview := selects(t, e, "web-preview", 2)
	if active.Labels["team"] != "payments" || active.Annotations["owner"] != "payments" || len(active.Spec.Ports) != 1 ||
		active.Spec.Ports[0].TargetPort.IntVal != 8080 || metav1.GetControllerOf(active) != nil {
		t.Errorf("the user's Service changed beyond its selector: %+v %+v", active.ObjectMeta, active.Spec)
	}
	if owner := metav1.GetControllerOf(preview); owner == nil || owner.Name != "web" || len(preview.Spec.Ports) != 1 ||
		preview.Spec.Ports[0].Port != 80 || preview.Spec.Ports[0].TargetPort.IntVal != 8080 {
		t.Errorf("preview Service: owner %v, ports %+v (want the Rollout's, and the active Service's ports)", owner, preview.Spec.Ports)
	}
	if calls := pre.Calls(); len(calls) != 1 || calls[0].Path != "/preview?svc=web-preview" {
		t.Errorf("prePromotion calls: %+v, want one through web-preview", calls)
	}
	if len(post.Calls()) != 0 {
		t.Errorf("postPromotion check ran before the switch")
	}

	// The promotion scales v2 to full, switches, and runs the check,
	// which fails: the active Service goes back to v1, which never lost
	// a pod, and v2 goes after the abort delay.
	e.Request("web", rampv1.AnnotationPromote)
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "3", Replicas: "1:4 2:0"}, fixture.Wait)
	if ro.Status.Abort == nil || ro.Status.Abort.Reason != "WebhookFailed" {
		t.Errorf("abort: %+v, want WebhookFailed", ro.Status.Abort)
	}
	selects(t, e, "web", 1)
	if len(post.Calls()) != 1 {
		t.Errorf("postPromotion calls: %d, want 1", len(post.Calls()))
	}
	e.WaitForEvents("web", "CanaryStarted", "StepCompleted", "StepCompleted", "WebhookFailed")
	h1, err1 := revisionHash(context.Background(), e, "web", 1)
	h2, err2 := revisionHash(context.Background(), e, "web", 2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	// Created at 0 and scaled to 4 once, v1 never lost a pod after (a
	// ReplicaSet is named after its Rollout and revision).
	if got := rss.Values("web-"+h1, replicasText); fmt.Sprint(got) != "[0 4]" {
		t.Errorf("v1's replicas went %v: it must keep its 4 pods until v2 is promoted", got)
	}
	hashes := map[string]string{h1: "v1", h2: "v2"}
	var switches []string
	for _, h := range services.Values("web", func(u *unstructured.Unstructured) string {
		sel, _, _ := unstructured.NestedStringMap(u.Object, "spec", "selector")
		return sel[rampv1.LabelRevision]
	}) {
		switches = append(switches, hashes[h])
	}
	if fmt.Sprint(switches) != "[ v1 v2 v1]" {
		t.Errorf("the active Service selected %v over time, want nothing, v1, v2, v1", switches)
	}

	// v3 passes every check and is promoted: v1 goes after the delay.
	e.SetImage("web", "web:v3")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:0 3:2"}, fixture.Wait)
	e.Request("web", rampv1.AnnotationPromote)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:0 3:4"}, fixture.Wait)
	selects(t, e, "web", 0) // at rest again, once v1's pods are gone
	selects(t, e, "web-preview", 0)
	e.WaitForEvents("web", "Promoted")

	// Deleted, the Rollout gives the user's Service back whole.
	if err := e.C.Delete(context.Background(), e.Get("web")); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, fixture.Wait, "the active Service given back", func(ctx context.Context) (bool, string) {
		svc := &corev1.Service{}
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, svc); err != nil {
			return false, err.Error()
		}
		_, marked := svc.Annotations["ramp.dev/canary-weight"]
		return len(svc.Spec.Selector) == 1 && svc.Spec.Selector["app"] == "web" && !marked,
			fmt.Sprintf("selector %v, annotations %v", svc.Spec.Selector, svc.Annotations)
	})
}

// TestBlueGreenAutoPromotion: with autoPromotionSeconds 0 nobody is asked;
// an abort after the switch takes the active Service back at once.
func TestBlueGreenAutoPromotion(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	ro := e.BlueGreen("web", "web:v1", rampv1.BlueGreenStrategy{
		ActiveService:        "web",
		PreviewService:       "web-next",
		AutoPromotionSeconds: ptr.To[int32](0),
		PostPromotion:        []rampv1.Step{fixture.Pause(0)},
	})
	ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	// Ramp created the active Service from the template's ports.
	active := selects(t, e, "web", 0)
	if len(active.Spec.Ports) != 1 || active.Spec.Ports[0].Port != 8080 || metav1.GetControllerOf(active) == nil {
		t.Errorf("active Service created with ports %+v, owner %v", active.Spec.Ports, metav1.GetControllerOf(active))
	}
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:4"}, fixture.Wait)
	selects(t, e, "web", 2) // switched without a person
	selects(t, e, "web-next", 2)
	e.Request("web", rampv1.AnnotationAbort)
	selects(t, e, "web", 1)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
	e.WaitForEvents("web", "Aborted", "TrafficDrained")
}

// TestBlueGreenThroughAMesh: with each mesh router the weight goes from 0
// to 100 at the switch, between the Services Ramp creates under the names
// activeService and previewService (with Istio, between the subsets, the
// Services beside them): before the switch the preview Service selects the
// new version, for its checks.
func TestBlueGreenThroughAMesh(t *testing.T) {
	t.Parallel()
	for _, router := range fixture.Meshes {
		t.Run(string(router), func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			routes := e.Record(router.GVK())
			ro := e.BlueGreen("web", "web:v1", rampv1.BlueGreenStrategy{
				// fixture.CanaryWeight reads the share of the Service named -canary.
				ActiveService: "web-stable", PreviewService: "web-canary",
			})
			// The routing a canary of the router would have, and its objects.
			canary := ro.DeepCopy()
			canary.Spec.Strategy = rampv1.Strategy{}
			e.Route(canary, router)
			ro.Spec.Service = canary.Spec.Service
			ro.Spec.Strategy.BlueGreen.TrafficRouting = canary.Spec.Strategy.Canary.TrafficRouting
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "0", Replicas: "1:4 2:4"}, fixture.Wait)
			selects(t, e, "web-stable", 1)
			selects(t, e, "web-canary", 2)
			e.Request("web", rampv1.AnnotationPromote)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
			weights := routes.Values("web", func(u *unstructured.Unstructured) string { return fmt.Sprint(fixture.CanaryWeight(u)) })
			if fmt.Sprint(weights) != "[0 100 0]" {
				t.Errorf("the preview's weight went %v, want 0, 100 at the switch, 0 once promoted", weights)
				for _, w := range routes.Writes("web") {
					spec, _ := json.Marshal(w.Object.Object["spec"])
					t.Logf("%d %s %v", w.Revision, spec, w.Object.GetAnnotations())
				}
			}
			for _, name := range []string{"web-stable", "web-canary"} {
				svc := &corev1.Service{}
				if err := e.C.Get(context.Background(), client.ObjectKey{Namespace: e.NS, Name: name}, svc); err != nil || metav1.GetControllerOf(svc) == nil {
					t.Errorf("Service %s: %v, owner %v; want one the Rollout owns", name, err, metav1.GetControllerOf(svc))
				}
			}
		})
	}
}

func replicasText(u *unstructured.Unstructured) string { return fmt.Sprint(specReplicas(u)) }
