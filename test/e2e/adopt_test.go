package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic/gatewayapi"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestDeletingAnAdoptingRolloutKeepsServing deletes a Rollout that
// adopted a Deployment, as a Helm uninstall or a GitOps prune would, at
// rest, mid-canary and after an abort (Gateway API; pod ratio
// mid-canary), under 200 requests/s through three
// proxies that apply every change a second or more late (the app's pods
// answer for 2 s after their deletion, the preStop sleep any Deployment's
// rolling update needs). The Deployment Ramp scaled to zero is scaled
// back and waited for, the route is given back and waited for, and only
// then do Ramp's pods go: not one request fails and the ready pods never
// fall below the Rollout's three. The control deletes the Rollout with
// nothing to hold it (no controller, no finalizer), as Ramp left it before:
// requests fail.
func TestDeletingAnAdoptingRolloutKeepsServing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		router fixture.Router
		phase  string
	}{
		{fixture.GatewayAPI, "healthy"}, {fixture.GatewayAPI, "paused"}, {fixture.GatewayAPI, "aborted"},
		{fixture.PodRatio, "paused"}, {fixture.GatewayAPI, "control"},
	} {
		phase := tc.phase
		t.Run(string(tc.router)+"/"+phase, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			ctx := context.Background()
			plane, err := dataplane.Start(ctx, clustertest.Config(t), e.NS, dataplane.Options{
				Grace: 2 * time.Second,
				Mesh:  dataplane.MeshOptions{Proxies: 3, RouteLag: lagged, EndpointLag: lagged, Report: tc.router == fixture.GatewayAPI},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(plane.Close)
			ctrl := e.StartControllerProcess()

			ro := adoptingRollout(t, e, tc.router)
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:3"}, fixture.Wait)
			waitDeployment(t, e, func(d *appsv1.Deployment) bool { return ptr.Deref(d.Spec.Replicas, 1) == 0 && d.Status.Replicas == 0 })

			if phase == "paused" || phase == "aborted" {
				setDeploymentVersion(t, e, "v2")
				e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: fixture.AnyReplicas}, fixture.Wait)
			}
			if phase == "aborted" {
				e.Request("web", rampv1.AnnotationAbort)
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: fixture.AnyReplicas}, fixture.Wait)
			}
			if tc.router == fixture.GatewayAPI {
				routeApplied(t, e) // the load starts on a mesh at rest
			}
			ready := watchReady(t, clustertest.Config(t), e.NS)
			stop := load(t, plane, "web")

			if phase == "control" {
				// Nothing holds the Rollout: no controller, no finalizer.
				ctrl.Kill()
				patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
				if err := e.C.Patch(ctx, &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS}}, patch); err != nil {
					t.Fatal(err)
				}
			}
			deleted := time.Now()
			if err := e.C.Delete(ctx, e.Get("web")); err != nil {
				t.Fatal(err)
			}
			waitRolloutGone(t, e)
			gone := time.Since(deleted)
			tally := stop()
			total, codes, versions := tally.Snapshot()
			failed, _ := tally.Failures()
			t.Logf("gone %s after the delete; %d requests, codes %v, versions %v; ready pods never below %d",
				gone.Round(100*time.Millisecond), total, codes, versions, ready.min("web"))
			if phase == "control" {
				if len(failed) == 0 && ready.min("web") >= 3 {
					t.Errorf("without the finalizer no request of %d failed and ready pods stayed at %d or more: the test cannot see an outage", total, ready.min("web"))
				}
				return
			}
			if len(failed) > 0 {
				t.Errorf("%d of %d requests failed; first: %+v", len(failed), total, failed[0])
			}
			if m := ready.min("web"); m < 3 {
				t.Errorf("ready pods fell to %d, below the Rollout's 3", m)
			}
			waitDeployment(t, e, func(d *appsv1.Deployment) bool {
				return ptr.Deref(d.Spec.Replicas, 0) == 3 && d.Status.AvailableReplicas == 3
			})
		})
	}
}

// setDeploymentVersion gives the Deployment's template a new version, and
// returns the Deployment as that write left it.
func setDeploymentVersion(t *testing.T, e *fixture.Env, version string) *appsv1.Deployment {
	t.Helper()
	dep := &appsv1.Deployment{}
	e.Read("web", dep)
	patch := client.MergeFrom(dep.DeepCopy())
	c := &dep.Spec.Template.Spec.Containers[0]
	c.Image, c.Env = "web:"+version, []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: version}}
	if err := e.C.Patch(context.Background(), dep, patch); err != nil {
		t.Fatal(err)
	}
	return dep
}

// waitDeployment waits until the Deployment web is as ok says.
func waitDeployment(t *testing.T, e *fixture.Env, ok func(*appsv1.Deployment) bool) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, "the Deployment", func(ctx context.Context) (bool, string) {
		dep := &appsv1.Deployment{}
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, dep); err != nil {
			return false, err.Error()
		}
		return ok(dep), fmt.Sprintf("replicas %d, status %+v", ptr.Deref(dep.Spec.Replicas, 1), dep.Status)
	})
}

// TestAdoptingAServingDeploymentFailsNoRequest: a Deployment serves 200
// requests/s through three proxies that run a route 0.5 s after it is
// written and learn endpoints 1.5 s after they change, the order that
// hurts (a proxy runs a new route before it knows the pods behind it). A
// Rollout adopts the Deployment with Gateway API, Ramp creating the route:
// Ramp's pods come up, the route goes in once every proxy knows them
// behind the new stable Service (endpointPropagationSeconds 2), and the
// Deployment goes to zero once every proxy runs the route. Not one request
// fails, though pods stop the instant they are deleted (no preStop
// sleep). The control, with endpointPropagationSeconds 0, writes the route
// with the Services: requests fail.
func TestAdoptingAServingDeploymentFailsNoRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		propagation int32
	}{{"waits", 2}, {"control", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			plane, err := dataplane.Start(context.Background(), clustertest.Config(t), e.NS, dataplane.Options{
				// Pods that stop at once: no request may reach one that goes.
				Mesh: dataplane.MeshOptions{Proxies: 3, Report: true,
					RouteLag: dataplane.Lag{Base: 500 * time.Millisecond}, EndpointLag: dataplane.Lag{Base: 1500 * time.Millisecond}},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(plane.Close)
			e.StartController()
			ro := adoptingRollout(t, e, fixture.GatewayAPI)
			ro.Spec.Strategy.Canary.EndpointPropagationSeconds = ptr.To(tc.propagation)
			waitDeployment(t, e, func(d *appsv1.Deployment) bool { return d.Status.AvailableReplicas == 3 })
			ready := watchReady(t, clustertest.Config(t), e.NS)
			stop := load(t, plane, "web")
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:3"}, fixture.Wait)
			waitDeployment(t, e, func(d *appsv1.Deployment) bool { return ptr.Deref(d.Spec.Replicas, 1) == 0 && d.Status.Replicas == 0 })
			routeApplied(t, e)
			tally := stop()
			total, codes, _ := tally.Snapshot()
			failed, _ := tally.Failures()
			t.Logf("%d requests, codes %v; ready pods never below %d", total, codes, ready.min("web"))
			if tc.propagation == 0 {
				if len(failed) == 0 {
					t.Errorf("with endpointPropagationSeconds 0 no request of %d failed: the test cannot see the route run before its pods are known", total)
				}
				return
			}
			if len(failed) > 0 {
				t.Errorf("%d of %d requests failed; first: %+v", len(failed), total, failed[0])
			}
			if m := ready.min("web"); m < 3 {
				t.Errorf("ready pods fell to %d, below 3", m)
			}
		})
	}
}

// adoptingRollout creates the Deployment web (3 pods of v1) and the
// objects router needs, and returns a Rollout adopting it: 3 replicas,
// steps 50% and a pause.
func adoptingRollout(t *testing.T, e *fixture.Env, router fixture.Router) *rampv1.Rollout {
	t.Helper()
	ro := e.Rollout("web", "", fixture.SetWeight(50), fixture.Pause(0))
	ro.Spec.Replicas = ptr.To[int32](3)
	e.Create(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: ro.Spec.Selector,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: ro.Spec.Selector.MatchLabels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "web:v1",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					Env:   []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: "v1"}}}}}}}})
	ro.Spec.Template = nil
	ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: "web"}
	e.Route(ro, router)
	if router == fixture.PodRatio { // the Service clients call, which Route leaves out
		e.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
			Spec: corev1.ServiceSpec{Selector: ro.Spec.Selector.MatchLabels, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
	}
	return ro
}

// routeApplied waits until every proxy runs the Rollout's HTTPRoute as it
// is (the mesh stand-in reports it in the route's status).
func routeApplied(t *testing.T, e *fixture.Env) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, "the route applied by every proxy", func(ctx context.Context) (bool, string) {
		route := e.GetObject(fixture.GatewayAPI.GVK(), gatewayapi.Name(e.Get("web")))
		applied, _ := gatewayapi.Applied(route)
		return applied == route.GetGeneration(), fmt.Sprintf("generation %d, applied %d", route.GetGeneration(), applied)
	})
}
