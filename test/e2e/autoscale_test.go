package e2e

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
	"github.com/rampcd/ramp/test/metricsapi"
)

// hpa scales Rollout name on the external metric load, one pod per 10,
// between 1 and 12 pods, each way in one step (now).
func hpa(e *fixture.Env, name string) {
	hpaOf(e, autoscalingv2.CrossVersionObjectReference{APIVersion: rampv1.GroupVersion.String(), Kind: "Rollout", Name: name}, "load")
}

// hpaOf scales target on an external metric as hpa does.
func hpaOf(e *fixture.Env, target autoscalingv2.CrossVersionObjectReference, metric string) {
	now := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0),
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 100, PeriodSeconds: 1}}}
	e.Create(&autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: target.Name, Namespace: e.NS},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: target,
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 12,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: metric},
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

	// In place, the HPA scales the Deployment; Ramp never writes its
	// replicas, and sizes the canary from them. Under load through lagging
	// proxies, with the webhook: a canary promoted while the HPA doubles
	// the Deployment, then one rolled back while it shrinks it.
	t.Run("in place", func(t *testing.T) {
		metrics.Set("inplace", 30) // 3 pods, as the Deployment starts
		// The HPA's scale-down removes pods that serve, as in any
		// Deployment: they need the usual preStop sleep.
		ip := startInPlace(t, fixture.GatewayAPI, true, 2*time.Second, nil)
		e := ip.e
		deployments := e.Record(appsv1.SchemeGroupVersion.WithKind("Deployment"))
		hpaOf(e, autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, "inplace")
		ready := watchReady(t, clustertest.Config(t), e.NS)
		stop := load(t, ip.plane, "web")

		ip.startCanary(true) // 50% of 3: 2 canary pods
		metrics.Set("inplace", 60)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3"}, fixture.Wait)
		waitDeployment(t, e, func(d *appsv1.Deployment) bool { return d.Spec.Paused && d.Status.AvailableReplicas == 6 })
		e.Request("web", rampv1.AnnotationPromote)
		waitDeployment(t, e, func(d *appsv1.Deployment) bool {
			return !d.Spec.Paused && d.Status.UpdatedReplicas == 6 && d.Status.Replicas == 6 && d.Status.AvailableReplicas == 6
		})
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0"}, fixture.Wait)

		setDeploymentVersion(t, e, "v3")
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:0 2:3"}, fixture.Wait)
		metrics.Set("inplace", 40)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:0 2:2"}, fixture.Wait)
		e.Request("web", rampv1.AnnotationAbort)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:0 2:0"}, fixture.Wait)
		setDeploymentVersion(t, e, "v2")
		waitDeployment(t, e, func(d *appsv1.Deployment) bool { return !d.Spec.Paused && d.Status.AvailableReplicas == 4 })
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:0"}, fixture.Wait)

		tally := stop()
		total, codes, _ := tally.Snapshot()
		failed, _ := tally.Failures()
		t.Logf("%d requests, codes %v; ready pods never below %d", total, codes, ready.min("web"))
		if len(failed) > 0 {
			t.Errorf("%d of %d requests failed; first: %+v", len(failed), total, failed[0])
		}
		if m := ready.min("web"); m < 3 {
			t.Errorf("ready pods fell to %d, below 3", m)
		}
		counts := deployments.Values("web", func(u *unstructured.Unstructured) string {
			n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
			return fmt.Sprint(n)
		})
		if fmt.Sprint(counts) != "[3 6 4]" {
			t.Errorf("the Deployment's spec.replicas went %v; want 3, then 6 and 4 from the HPA, and nothing from Ramp", counts)
		}
	})
	if metrics.Reads("load") == 0 || metrics.Reads("inplace") == 0 {
		t.Error("the HPA controller never read a metric: the workloads scaled for another reason")
	}
}
