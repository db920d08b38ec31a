package e2e

import (
	"fmt"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/metricsapi"
)

// hpa scales Rollout name on the external metric load, one pod per 10,
// between 1 and 12 pods, each way in one step (now).
func hpa(e *fixture.Env, name string) {
	now := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0),
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 100, PeriodSeconds: 1}}}
	e.Create(&autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: rampv1.GroupVersion.String(), Kind: "Rollout", Name: name},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 12,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "load"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: now, ScaleDown: now},
		},
	})
}

// TestAutoscaledRollouts: kube-controller-manager's HorizontalPodAutoscaler
// controller drives Rollouts through their scale subresource, on a metric
// a metrics API server reports. A canary's stable version keeps the count
// the HPA asks, its canary is sized from that count at the step's weight,
// both follow when the HPA changes it mid-canary, and the promotion does
// not move it; a blue/green preview is sized from it too.
func TestAutoscaledRollouts(t *testing.T) {
	e := fixture.New(t)
	metrics := metricsapi.Start(t, e.C, e.NS)
	metrics.Set("load", 40) // 4 pods
	e.StartController()
	replicas := e.Record(rampv1.GroupVersion.WithKind("Rollout"))

	t.Run("canary", func(t *testing.T) {
		ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0))
		ro.Spec.Replicas = ptr.To[int32](2) // the HPA decides
		e.Route(ro, fixture.SMI)
		e.Create(ro)
		hpa(e, "web")
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
		e.SetImage("web", "web:v2")
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
		metrics.Set("load", 80) // the HPA asks 8: stable 8, canary 25% of 8
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:8 2:2"}, fixture.Wait)
		e.Request("web", rampv1.AnnotationPromote)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:8"}, fixture.Wait)
		spec := replicas.Values("web", func(u *unstructured.Unstructured) string {
			n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
			return fmt.Sprint(n)
		})
		if fmt.Sprint(spec) != "[2 4 8]" {
			t.Errorf("spec.replicas went %v, want 2, 4 (the HPA), 8 (the HPA, mid-canary), and nothing else through the promotion", spec)
		}
	})

	t.Run("blue/green", func(t *testing.T) {
		metrics.Set("load", 30)
		e.Create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: e.NS},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "shop"}, Ports: []corev1.ServicePort{{Port: 80}}},
		})
		e.Create(e.BlueGreen("shop", "shop:v1", rampv1.BlueGreenStrategy{ActiveService: "shop"}))
		hpa(e, "shop")
		e.WaitFor("shop", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:3"}, fixture.Wait)
		e.SetImage("shop", "shop:v2")
		e.WaitFor("shop", fixture.State{Phase: rampv1.PhasePaused, Step: "0", Replicas: "1:3 2:3"}, fixture.Wait)
		metrics.Set("load", 50)
		e.WaitFor("shop", fixture.State{Phase: rampv1.PhasePaused, Step: "0", Replicas: "1:5 2:5"}, fixture.Wait)
		e.Request("shop", rampv1.AnnotationPromote)
		e.WaitFor("shop", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:5"}, fixture.Wait)
	})
	if metrics.Reads("load") == 0 {
		t.Error("the HPA controller never read the metric: the Rollouts scaled for another reason")
	}
}
