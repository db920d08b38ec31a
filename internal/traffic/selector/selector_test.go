package selector

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/internal/traffic"
)

// These tests check the router's edits on a fake client; the blue/green
// e2e tests run it against a real API server.

func rollout() *rampv1.Rollout {
	ro := &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-web"}}
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	ro.Spec.Template = &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}},
	}}}
	ro.Spec.Strategy.BlueGreen = &rampv1.BlueGreenStrategy{ActiveService: "web"}
	return ro
}

func userService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"team": "a"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web", "tier": "front"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
}

func selector(t *testing.T, c client.Client, name string) map[string]string {
	t.Helper()
	svc := &corev1.Service{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: name}, svc); err != nil {
		t.Fatal(err)
	}
	return svc.Spec.Selector
}

func TestSetWeight(t *testing.T) {
	tests := []struct {
		name            string
		existing        []client.Object
		steps           []traffic.Target
		active          string // the active Service's revision after the last step
		preview         string
		lastChanges     string // the objects the last step changed
		weight          rampv1.Weight
		previewPorts    int32
		previewOwned    bool
		activeKeepsTier bool
	}{
		{
			name:     "preview created from the user's active Service, which keeps its selector",
			existing: []client.Object{userService()},
			steps:    []traffic.Target{{Stable: "v1", Canary: "v2"}},
			active:   "v1", preview: "v2", lastChanges: "Service web-preview, Service web",
			previewPorts: 80, previewOwned: true, activeKeepsTier: true,
		},
		{
			name:     "the switch is one write, to the active Service",
			existing: []client.Object{userService()},
			steps:    []traffic.Target{{Stable: "v1", Canary: "v2"}, {Stable: "v1", Canary: "v2", Weight: rampv1.FullWeight}},
			active:   "v2", preview: "v2", lastChanges: "Service web", weight: rampv1.FullWeight,
			previewPorts: 80, previewOwned: true, activeKeepsTier: true,
		},
		{
			name:     "and so is the switch back",
			existing: []client.Object{userService()},
			steps: []traffic.Target{{Stable: "v1", Canary: "v2"}, {Stable: "v1", Canary: "v2", Weight: rampv1.FullWeight},
				{Stable: "v1", Canary: "v2"}},
			active: "v1", preview: "v2", lastChanges: "Service web",
			previewPorts: 80, previewOwned: true, activeKeepsTier: true,
		},
		{
			name:   "both created from the template's ports when missing, at rest selecting every pod",
			steps:  []traffic.Target{{Stable: "v1", Canary: "v1", Rest: true}},
			active: "", preview: "", lastChanges: "Service web-preview, Service web",
			previewPorts: 8080, previewOwned: true,
		},
		{
			name:     "at rest the user's Service selects every pod again",
			existing: []client.Object{userService()},
			steps:    []traffic.Target{{Stable: "v1", Canary: "v2", Weight: rampv1.FullWeight}, {Stable: "v2", Canary: "v2", Rest: true}},
			active:   "", preview: "", lastChanges: "Service web-preview, Service web",
			previewPorts: 80, previewOwned: true, activeKeepsTier: true,
		},
		{
			name:     "nothing written when nothing changes",
			existing: []client.Object{userService()},
			steps:    []traffic.Target{{Stable: "v1", Canary: "v2"}, {Stable: "v1", Canary: "v2"}},
			active:   "v1", preview: "v2", lastChanges: "",
			previewPorts: 80, previewOwned: true, activeKeepsTier: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(tt.existing...).Build()
			r := New(traffic.Kube{Client: c, Scheme: scheme.New()}, rollout())
			var changes []traffic.Change
			for _, target := range tt.steps {
				var err error
				if changes, err = r.SetWeight(context.Background(), target); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			for _, ch := range changes {
				names = append(names, ch.Object)
			}
			if got := strings.Join(names, ", "); got != tt.lastChanges {
				t.Errorf("last step changed %q, want %q", got, tt.lastChanges)
			}
			active, preview := selector(t, c, "web"), selector(t, c, "web-preview")
			if active[rampv1.LabelRevision] != tt.active || preview[rampv1.LabelRevision] != tt.preview {
				t.Errorf("active selects %v, preview %v; want revisions %s and %s", active, preview, tt.active, tt.preview)
			}
			if (active["tier"] == "front") != tt.activeKeepsTier {
				t.Errorf("active selector %v: the user's keys must stay as they were", active)
			}
			svc := &corev1.Service{}
			_ = c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "web-preview"}, svc)
			if svc.Spec.Ports[0].Port != tt.previewPorts || (metav1.GetControllerOf(svc) != nil) != tt.previewOwned {
				t.Errorf("preview ports %+v, owner %v", svc.Spec.Ports, metav1.GetControllerOf(svc))
			}
			reading, err := r.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if reading.Weight != tt.weight {
				t.Errorf("Verify reads weight %s, want %s", reading.Weight, tt.weight)
			}
		})
	}
}

func TestVerifySeesAHandEdit(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(userService()).Build()
	r := New(traffic.Kube{Client: c, Scheme: scheme.New()}, rollout())
	if _, err := r.SetWeight(context.Background(), traffic.Target{Stable: "v1", Canary: "v2", Weight: rampv1.FullWeight}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{}
	_ = c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "web"}, svc)
	svc.Spec.Selector[rampv1.LabelRevision] = "v1"
	if err := c.Update(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	reading, err := r.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if reading.Weight != 0 || reading.Written == nil || reading.Written.Weight != rampv1.FullWeight {
		t.Errorf("reading %+v after the active Service was pointed back by hand: want weight 0, written 100", reading)
	}
}

func TestCleanupGivesTheUsersServiceBack(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(userService()).Build()
	r := New(traffic.Kube{Client: c, Scheme: scheme.New()}, rollout())
	if _, err := r.SetWeight(context.Background(), traffic.Target{Stable: "v1", Canary: "v2"}); err != nil {
		t.Fatal(err)
	}
	changes, err := r.Cleanup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Object != "Service web" {
		t.Errorf("cleanup changed %+v, want the user's Service only (the preview is the Rollout's)", changes)
	}
	svc := &corev1.Service{}
	_ = c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "web"}, svc)
	if len(svc.Spec.Selector) != 2 || svc.Annotations[traffic.AnnotationWeight] != "" {
		t.Errorf("after cleanup: selector %v, annotations %v", svc.Spec.Selector, svc.Annotations)
	}
}

func TestRefusals(t *testing.T) {
	noSelector := userService()
	noSelector.Spec.Selector = nil
	noPorts := rollout()
	noPorts.Spec.Template.Spec.Containers[0].Ports = nil
	for _, tc := range []struct {
		name     string
		ro       *rampv1.Rollout
		existing []client.Object
		want     string
	}{
		{"a Service without a selector", rollout(), []client.Object{noSelector}, "Service web has no selector"},
		{"nothing to build the active Service from", noPorts, nil, "declares no container ports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(tc.existing...).Build()
			_, err := New(traffic.Kube{Client: c, Scheme: scheme.New()}, tc.ro).SetWeight(context.Background(), traffic.Target{Stable: "v1", Canary: "v1"})
			var cfg *traffic.ConfigError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &cfg) {
				t.Errorf("error %v, want a ConfigError saying %q", err, tc.want)
			}
		})
	}
}
