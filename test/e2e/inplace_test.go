package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestInPlaceDeploymentCanary runs a Deployment in place (Gateway API;
// Istio and SMI promoted too) under 200 requests/s through three proxies
// that apply every change a second or more late, pods that stop the
// instant they are deleted, and the admission webhook installed:
//
//   - promoted: the template change is paused in its own write, and so is
//     a resume mid-canary; the canary runs beside the Deployment's three
//     pods, which Ramp never scales; promoted, the traffic stays on the
//     canary until the Deployment has rolled v2 out, then moves to its
//     pods, and Ramp's go. The control promotes with no wait
//     (scaleDownDelaySeconds and endpointPropagationSeconds 0): requests
//     fail.
//   - aborted: the Deployment stays paused at v2 with a condition saying
//     how to go on; reverting its template resumes it with nothing to roll
//     (its pods are the same ones).
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
		{fixture.GatewayAPI, "promoted"}, {fixture.GatewayAPI, "promoted/control"}, {fixture.GatewayAPI, "aborted"},
		{fixture.GatewayAPI, "unheld"}, {fixture.Istio, "promoted"}, {fixture.SMI, "promoted"},
	} {
		tc := c.phase
		t.Run(string(c.router)+"/"+tc, func(t *testing.T) {
			t.Parallel()
			ip := startInPlace(t, c.router, tc != "unheld", 0, func(ro *rampv1.Rollout) {
				if tc == "promoted/control" {
					// No wait: the Deployment rolls at the promotion, and its
					// new pods are routed to the moment they are available.
					ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](0)
					ro.Spec.Strategy.Canary.EndpointPropagationSeconds = ptr.To[int32](0)
				}
			})
			e, ctx := ip.e, context.Background()
			before := podUIDs(t, e, "web")
			ready := watchReady(t, clustertest.Config(t), e.NS)
			stop := load(t, ip.plane, "web")
			ip.startCanary(tc != "unheld")
			if tc == "unheld" {
				reasons := e.EventReasons("web")
				if !slices.Contains(reasons, "WorkloadPaused") && !slices.Contains(reasons, "WorkloadRolloutCaught") {
					t.Errorf("no event says the controller paused the Deployment: %v", reasons)
				}
				// The controller's write owns spec.paused and nothing else.
				for _, m := range getDeployment(t, e).ManagedFields {
					if m.Manager == "ramp-controller" && (m.FieldsV1 == nil || m.FieldsV1.GetRawString() != `{"f:spec":{"f:paused":{}}}`) {
						t.Errorf("ramp-controller owns %s of the Deployment; want spec.paused alone", m.FieldsV1)
					}
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
			if tc == "aborted" {
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
			} else {
				e.Request("web", rampv1.AnnotationPromote)
				waitDeployment(t, e, func(d *appsv1.Deployment) bool {
					return !d.Spec.Paused && d.Status.UpdatedReplicas == 3 && d.Status.Replicas == 3 && d.Status.AvailableReplicas == 3
				})
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0"}, fixture.Wait)
			}

			tally := stop()
			total, codes, versions := tally.Snapshot()
			failed, _ := tally.Failures()
			t.Logf("%d requests, codes %v, versions %v; ready pods never below %d", total, codes, versions, ready.min("web"))
			switch {
			case tc == "unheld":
				// The Deployment controller may act on the change before
				// Ramp sees it: what it does then is its own.
				return
			case tc == "promoted/control":
				if len(failed) == 0 {
					t.Errorf("with no wait no request of %d failed: the test cannot see the Deployment's old pods go while proxies still route to them", total)
				}
				return
			case len(failed) > 0:
				t.Errorf("%d of %d requests failed; first: %+v", len(failed), total, failed[0])
			}
			if m := ready.min("web"); m < 3 {
				t.Errorf("ready pods fell to %d, below the Deployment's 3", m)
			}
			if reqs := tally.Requests(); tc == "promoted" {
				// The last half second, long after the promotion: v2 only.
				last := reqs[len(reqs)-1].At
				for _, r := range reqs {
					if r.At > last-500*time.Millisecond && r.Version != "v2" {
						t.Errorf("promoted, a request at %s was answered by %q", r.At, r.Version)
						break
					}
				}
			}
		})
	}
}

// inPlace is a Deployment web of three v1 pods, run in place by the
// Rollout web (steps 50% and a pause), serving through the mesh stand-in.
type inPlace struct {
	t     *testing.T
	e     *fixture.Env
	plane *dataplane.Plane
	ctrl  *fixture.Controller
}

// startInPlace sets up an in-place Rollout through router, with the
// controller as a process serving the webhooks when admission is set, and
// waits until it is Healthy and, with Gateway API, every proxy runs its
// route.
//
// grace is how long pods answer after their deletion (their preStop
// sleep); 0, they stop at once.
func startInPlace(t *testing.T, router fixture.Router, admission bool, grace time.Duration, change func(*rampv1.Rollout)) *inPlace {
	t.Helper()
	e, plane, ctrl := startServing(t, router, admission, grace)
	ip := &inPlace{t: t, e: e, plane: plane, ctrl: ctrl}
	ro := adoptingRollout(t, e, router)
	ro.Spec.WorkloadRef.Mode = rampv1.WorkloadInPlace
	ro.Spec.Replicas = nil // the Deployment's
	ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](3)
	ro.Spec.Strategy.Canary.EndpointPropagationSeconds = ptr.To[int32](2) // the proxies lag up to 1.5 s
	if change != nil {
		change(ro)
	}
	waitDeployment(t, e, func(d *appsv1.Deployment) bool { return d.Status.AvailableReplicas == 3 })
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: ""}, fixture.Wait)
	if router == fixture.GatewayAPI {
		routeApplied(t, e) // the load starts on a mesh at rest
	}
	return ip
}

// startCanary gives the Deployment v2 and waits for the canary's pause at
// 50%, the Deployment paused; held: by the webhook, in that write.
func (ip *inPlace) startCanary(held bool) {
	t, e := ip.t, ip.e
	t.Helper()
	if dep := setDeploymentVersion(t, e, "v2"); held && !dep.Spec.Paused {
		t.Error("the webhook did not pause the Deployment in the write that changed its template")
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:2"}, fixture.Wait)
	waitDeployment(t, e, func(d *appsv1.Deployment) bool { return d.Spec.Paused && ptr.Deref(d.Spec.Replicas, 0) == 3 })
}

// startServing starts a namespace's data plane (three proxies that lag,
// reporting the routes they run with Gateway API; pods that answer for
// grace after their deletion) and the controller as a process, serving
// the webhooks when admission is set.
func startServing(t *testing.T, router fixture.Router, admission bool, grace time.Duration) (*fixture.Env, *dataplane.Plane, *fixture.Controller) {
	t.Helper()
	e := fixture.New(t)
	plane, err := dataplane.Start(context.Background(), clustertest.Config(t), e.NS, dataplane.Options{Grace: grace,
		Mesh: dataplane.MeshOptions{Proxies: 3, RouteLag: lagged, EndpointLag: lagged, Report: router == fixture.GatewayAPI}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plane.Close)
	if !admission {
		return e, plane, e.StartControllerProcess()
	}
	addr, cfg := freeLoopbackAddr(t), "ramp-admission-"+e.NS
	ctrl := e.StartControllerProcess("--admission-bind-address", addr, "--admission-namespace", e.NS,
		"--admission-names", "127.0.0.1", "--admission-configuration", cfg)
	e.InstallAdmission(cfg, addr)
	return e, plane, ctrl
}
