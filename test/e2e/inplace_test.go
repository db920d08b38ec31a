package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestInPlaceDeploymentCanary runs a Deployment in place (Gateway API;
// Istio and SMI promoted too) under 200 requests/s through three proxies that apply every change a
// second or more late, pods that stop the instant they are deleted, and
// the admission webhook installed:
//
//   - promoted: the template change is paused in its own write, and so is
//     a resume mid-canary; the
//     canary runs beside the Deployment's three pods, which Ramp never
//     scales; promoted, the traffic stays on the canary until the
//     Deployment has rolled v2 out, then moves to its pods, and Ramp's go.
//     The control promotes with no wait (scaleDownDelaySeconds and
//     endpointPropagationSeconds 0): requests fail.
//   - aborted: the Deployment stays paused at v2 with a condition saying
//     how to go on; reverting its template resumes it with nothing to roll
//     (its pods are the same ones).
//   - deleted, mid-canary: the traffic goes back to the Deployment's pods,
//     the canary goes, the routing is given back, and only then is the
//     Deployment unpaused. It then rolls v2 out on its own, as it would
//     without Ramp, and its pods would need the preStop sleep any rolling
//     update needs: requests count until the unpause. The control deletes
//     with no controller and no finalizer: requests fail, and the
//     Deployment stays paused.
//   - unheld: with no webhook, the controller pauses the Deployment when it
//     sees the change, and the canary runs as usual. The Deployment
//     controller may have replaced pods by then, which may fail requests:
//     that is why the webhook holds the change in its own write.
//
// Not one request fails (but unheld), and the ready pods never fall below
// three.
func TestInPlaceDeploymentCanary(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		router fixture.Router
		phase  string
	}{
		{fixture.GatewayAPI, "promoted"}, {fixture.GatewayAPI, "promoted/control"}, {fixture.GatewayAPI, "aborted"}, {fixture.GatewayAPI, "deleted"},
		{fixture.GatewayAPI, "deleted/control"}, {fixture.GatewayAPI, "unheld"},
		{fixture.Istio, "promoted"}, {fixture.SMI, "promoted"},
	} {
		tc := c.phase
		t.Run(string(c.router)+"/"+tc, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			ctx := context.Background()
			// Pods stop the instant they are deleted (no preStop sleep).
			plane, err := dataplane.Start(ctx, clustertest.Config(t), e.NS, dataplane.Options{
				Mesh: dataplane.MeshOptions{Proxies: 3, RouteLag: lagged, EndpointLag: lagged, Report: c.router == fixture.GatewayAPI}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(plane.Close)
			var ctrl *fixture.Controller
			if tc == "unheld" {
				ctrl = e.StartControllerProcess()
			} else {
				addr, cfg := freeLoopbackAddr(t), "ramp-admission-"+e.NS
				ctrl = e.StartControllerProcess("--admission-bind-address", addr, "--admission-namespace", e.NS,
					"--admission-names", "127.0.0.1", "--admission-configuration", cfg)
				installAdmission(t, e, cfg, addr)
			}

			ro := adoptingRollout(t, e, c.router)
			ro.Spec.WorkloadRef.Mode = rampv1.WorkloadInPlace
			ro.Spec.Replicas = nil // the Deployment's
			ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](3)
			ro.Spec.Strategy.Canary.EndpointPropagationSeconds = ptr.To[int32](2) // the proxies lag up to 1.5 s
			if tc == "promoted/control" {
				// No wait: the Deployment rolls at the promotion, and its
				// new pods are routed to the moment they are available.
				ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](0)
				ro.Spec.Strategy.Canary.EndpointPropagationSeconds = ptr.To[int32](0)
			}
			waitDeployment(t, e, func(d *appsv1.Deployment) bool { return d.Status.AvailableReplicas == 3 })
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: ""}, fixture.Wait)
			if c.router == fixture.GatewayAPI {
				routeApplied(t, e) // the load starts on a mesh at rest
			}
			before := podUIDs(t, e, "web")
			ready := watchReady(t, clustertest.Config(t), e.NS)
			loaded := time.Now()
			stop := load(t, plane, "web")

			var until time.Duration // failures counted before; 0: all
			dep := setDeploymentVersion(t, e, "v2")
			if tc != "unheld" && !dep.Spec.Paused {
				t.Error("the webhook did not pause the Deployment in the write that changed its template")
			}
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:2"}, fixture.Wait)
			waitDeployment(t, e, func(d *appsv1.Deployment) bool { return d.Spec.Paused && ptr.Deref(d.Spec.Replicas, 0) == 3 })
			if tc == "unheld" {
				reasons := e.EventReasons("web")
				if !slices.Contains(reasons, "WorkloadPaused") && !slices.Contains(reasons, "WorkloadRolloutCaught") {
					t.Errorf("no event says the controller paused the Deployment: %v", reasons)
				}
			}

			if tc == "promoted" {
				// A resume mid-canary (kubectl rollout resume, a GitOps tool
				// applying its manifest again) is held in its own write too.
				dep := getDeployment(t, e)
				patch := client.MergeFrom(dep.DeepCopy())
				dep.Spec.Paused = false
				if err := e.C.Patch(ctx, dep, patch); err != nil {
					t.Fatal(err)
				}
				if !dep.Spec.Paused {
					t.Error("the webhook let a resume through mid-canary")
				}
			}
			switch tc {
			case "promoted", "promoted/control", "unheld":
				e.Request("web", rampv1.AnnotationPromote)
				waitDeployment(t, e, func(d *appsv1.Deployment) bool {
					return !d.Spec.Paused && d.Status.UpdatedReplicas == 3 && d.Status.Replicas == 3 && d.Status.AvailableReplicas == 3
				})
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0"}, fixture.Wait)
			case "aborted":
				e.Request("web", rampv1.AnnotationAbort)
				got := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:0"}, fixture.Wait)
				c := meta.FindStatusCondition(got.Status.Conditions, rampv1.ConditionWorkloadPaused)
				if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "CanaryRolledBack" {
					t.Errorf("after the rollback, condition WorkloadPaused is %+v; want True, CanaryRolledBack", c)
				}
				waitDeployment(t, e, func(d *appsv1.Deployment) bool { return d.Spec.Paused })
				setDeploymentVersion(t, e, "v1")
				waitDeployment(t, e, func(d *appsv1.Deployment) bool { return !d.Spec.Paused && d.Status.ObservedGeneration == d.Generation })
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0"}, fixture.Wait)
				if after := podUIDs(t, e, "web"); !sameSet(before, after) {
					t.Errorf("reverted, the Deployment replaced its pods: %v, then %v", before, after)
				}
			case "deleted/control":
				ctrl.Kill()
				patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
				if err := e.C.Patch(ctx, &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS}}, patch); err != nil {
					t.Fatal(err)
				}
				if err := e.C.Delete(ctx, e.Get("web")); err != nil {
					t.Fatal(err)
				}
				waitRolloutGone(t, e)
			case "deleted":
				resumed := watchResume(t, e)
				if err := e.C.Delete(ctx, e.Get("web")); err != nil {
					t.Fatal(err)
				}
				waitRolloutGone(t, e)
				// Once unpaused, the Deployment rolls v2 out on its own,
				// as without Ramp: its pods then need the preStop sleep of
				// any rolling update, which these lack. Ramp's part ends
				// there.
				until = resumed().Sub(loaded)
			}

			tally := stop()
			total, codes, versions := tally.Snapshot()
			failed, _ := tally.Failures()
			failed = slices.DeleteFunc(failed, func(r dataplane.Request) bool { return until > 0 && r.At >= until })
			t.Logf("%d requests, codes %v, versions %v; %d failed while Ramp held the Deployment; ready pods never below %d",
				total, codes, versions, len(failed), ready.min("web"))
			if tc == "unheld" {
				// The Deployment controller may act on the change before
				// Ramp sees it: what it does then is its own.
				return
			}
			if tc == "promoted/control" {
				if len(failed) == 0 {
					t.Errorf("with no wait no request of %d failed: the test cannot see the Deployment's old pods go while proxies still route to them", total)
				}
				return
			}
			if tc == "deleted/control" {
				if len(failed) == 0 {
					t.Errorf("without the finalizer no request of %d failed: the test cannot see an outage", total)
				}
				if dep := getDeployment(t, e); !dep.Spec.Paused {
					t.Error("without the finalizer the Deployment was unpaused anyway")
				}
				return
			}
			if len(failed) > 0 {
				t.Errorf("%d of %d requests failed; first: %+v", len(failed), total, failed[0])
			}
			if m := ready.min("web"); m < 3 {
				t.Errorf("ready pods fell to %d, below the Deployment's 3", m)
			}
			if reqs := tally.Requests(); tc == "promoted" || tc == "unheld" {
				// The last half second, long after the promotion: v2 only.
				last := reqs[len(reqs)-1].At
				for _, r := range reqs {
					if r.At > last-500*time.Millisecond && r.Version != "v2" {
						t.Errorf("promoted, a request at %s was answered by %q", r.At, r.Version)
						break
					}
				}
			}
			if tc == "deleted" {
				// Unpaused, it rolls the template it holds out on its own.
				waitDeployment(t, e, func(d *appsv1.Deployment) bool {
					return !d.Spec.Paused && d.Status.UpdatedReplicas == 3 && d.Status.AvailableReplicas == 3
				})
			}
		})
	}
}

// watchResume polls the Deployment web until it is unpaused; the function
// it returns waits for that and tells when.
func watchResume(t *testing.T, e *fixture.Env) func() time.Time {
	t.Helper()
	at := make(chan time.Time, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*fixture.Wait)
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			dep := &appsv1.Deployment{}
			if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, dep); err == nil && !dep.Spec.Paused {
				at <- time.Now()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() time.Time {
		select {
		case t := <-at:
			return t
		case <-ctx.Done():
			t.Fatal("the Deployment was never unpaused")
			return time.Time{}
		}
	}
}

// waitRolloutGone waits until the Rollout web and its pods are gone.
func waitRolloutGone(t *testing.T, e *fixture.Env) {
	t.Helper()
	clustertest.Eventually(t, 2*fixture.Wait, "the Rollout, its ReplicaSets and their pods to be gone", func(ctx context.Context) (bool, string) {
		err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, &rampv1.Rollout{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Sprint("Rollout: ", err)
		}
		var pods corev1.PodList
		if err := e.C.List(ctx, &pods, client.InNamespace(e.NS), client.HasLabels{rampv1.LabelRevision}); err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == 0, fmt.Sprint(len(pods.Items), " pods of Ramp's left")
	})
}

func getDeployment(t *testing.T, e *fixture.Env) *appsv1.Deployment {
	t.Helper()
	dep := &appsv1.Deployment{}
	if err := e.C.Get(context.Background(), client.ObjectKey{Namespace: e.NS, Name: "web"}, dep); err != nil {
		t.Fatal(err)
	}
	return dep
}
