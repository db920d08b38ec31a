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

// TestInPlaceStatefulSetCanary runs a StatefulSet of three pods in place
// (Gateway API; Istio and pod ratio promoted too) under 200 requests/s
// through three proxies that apply every change a second or more late,
// the admission webhook installed. Its template changes to v2: the webhook sets the partition to
// 3 in that write, and the canary's step (50%) lowers it to 1, so that the
// StatefulSet replaces its pods 2 and 1, highest first.
//
//   - promoted: the stable side moves to the canary's pods, and
//     scaleDownDelaySeconds later the partition goes to 0 and the
//     StatefulSet replaces pod 0. The pods keep their names throughout.
//   - aborted: the weight goes to 0, the partition back to 3, and once the
//     proxies have dropped the canary its pods are deleted one at a time
//     (highest first: TestRestoreVictim), each recreated at v1 and waited
//     for; pod 0 is never touched. Reverting the template then leaves the partition at 0 with
//     nothing to roll.
//   - reverted mid-canary: the webhook holds the revert's write too, and
//     the partition goes to 0 once the proxies have dropped the canary;
//     the StatefulSet then brings pods 1 and 2 back to v1.
//   - unheld: with no webhook, the controller sets the partition when it
//     sees the change and says so; the StatefulSet controller may have
//     replaced pods by then (all of them: Ramp then takes its current
//     revision as stable, and says that), so requests are not counted.
//   - deleted, mid-canary: the routing goes back to the root Service, which
//     selects the pods of both versions, then the partition goes to 0 and
//     the StatefulSet rolls v2 out on its own; so too after an abort and
//     just after a promotion (the partition still held), and at rest
//     nothing changes. The control deletes mid-canary with no
//     controller and no finalizer: the garbage collector takes the
//     routing objects in its own order (requests fail when a Service
//     goes before the route that names it), and the StatefulSet is left
//     held, half on each version.
//
// The StatefulSet controller replaces a pod by deleting it while it
// serves, as in any StatefulSet rolling update: pods answer for 2 s after
// their deletion (a preStop sleep), longer than the proxies lag. The
// control "promoted/control" has pods that stop at once: requests fail,
// so the test sees a pod go. Not one request fails otherwise, and the
// ready pods never fall below two (one pod replaced at a time).
func TestInPlaceStatefulSetCanary(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		router fixture.Router
		phase  string
	}{
		{fixture.GatewayAPI, "promoted"}, {fixture.GatewayAPI, "promoted/control"}, {fixture.GatewayAPI, "aborted"},
		{fixture.PodRatio, "promoted"}, {fixture.GatewayAPI, "deleted"}, {fixture.GatewayAPI, "deleted/control"},
		{fixture.GatewayAPI, "deleted/healthy"}, {fixture.GatewayAPI, "deleted/aborted"}, {fixture.Istio, "promoted"},
		{fixture.GatewayAPI, "unheld"}, {fixture.GatewayAPI, "reverted"}, {fixture.GatewayAPI, "deleted/promoted"},
	} {
		tc := c.phase
		t.Run(string(c.router)+"/"+tc, func(t *testing.T) {
			t.Parallel()
			grace := 2 * time.Second
			if tc == "promoted/control" {
				grace = 0
			}
			ss := startStatefulSet(t, c.router, tc != "unheld", grace)
			e := ss.e
			pod0 := podUID(t, e, "web-0")
			ready := watchReady(t, clustertest.Config(t), e.NS)
			stop := load(t, ss.plane, "web")

			if tc == "deleted/healthy" {
				deleteRollout(t, ss, false)
				tally := stop()
				total, codes, _ := tally.Snapshot()
				if failed, _ := tally.Failures(); len(failed) > 0 || podUID(t, e, "web-0") != pod0 {
					t.Errorf("deleted at rest: %d of %d requests failed (codes %v), or pod 0 was replaced", len(failed), total, codes)
				}
				return
			}
			if sts := setStatefulSetVersion(t, e, "v2"); partition(sts) != 3 && tc != "unheld" {
				t.Errorf("the webhook left the partition at %d in the write that changed the template; want 3", partition(sts))
			}
			if tc == "unheld" {
				// The StatefulSet controller may replace pods, or all of
				// them, before Ramp sees the change: what it does then is
				// its own, and Ramp says which it found.
				clustertest.Eventually(t, fixture.Wait, "an event of the change caught", func(context.Context) (bool, string) {
					reasons := e.EventReasons("web")
					return slices.ContainsFunc(reasons, func(r string) bool {
						return r == "WorkloadPaused" || r == "WorkloadRolloutCaught" || r == "StableRevisionMissing"
					}), fmt.Sprint(reasons)
				})
				stop()
				return
			}
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: ""}, fixture.Wait)
			sts := waitStatefulSet(t, e, "the canary on pods 1 and 2", func(s *appsv1.StatefulSet) bool {
				return partition(s) == 1 && s.Status.UpdatedReplicas == 2 && s.Status.ReadyReplicas == 3
			})
			if rev := podRevision(t, e, "web-0"); rev != sts.Status.CurrentRevision {
				t.Errorf("pod 0 runs %s mid-canary; want the stable %s", rev, sts.Status.CurrentRevision)
			}
			for _, m := range sts.ManagedFields {
				if m.Manager == "ramp-controller" && (m.FieldsV1 == nil || m.FieldsV1.GetRawString() != `{"f:spec":{"f:updateStrategy":{"f:rollingUpdate":{"f:partition":{}}}}}`) {
					t.Errorf("ramp-controller owns %s of the StatefulSet; want its partition alone", m.FieldsV1)
				}
			}

			switch tc {
			case "reverted":
				if sts := setStatefulSetVersion(t, e, "v1"); partition(sts) != 3 {
					t.Errorf("the webhook left the partition at %d in the revert's write, the canary's pods still weighted; want 3", partition(sts))
				}
				waitStatefulSet(t, e, "v1 on every pod, the partition released", func(s *appsv1.StatefulSet) bool {
					return partition(s) == 0 && s.Status.UpdatedReplicas == 3 && s.Status.ReadyReplicas == 3 && s.Status.CurrentRevision == s.Status.UpdateRevision
				})
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: ""}, fixture.Wait)
			case "promoted", "promoted/control":
				e.Request("web", rampv1.AnnotationPromote)
				waitStatefulSet(t, e, "v2 on every pod", func(s *appsv1.StatefulSet) bool {
					return partition(s) == 0 && s.Status.UpdatedReplicas == 3 && s.Status.ReadyReplicas == 3 && s.Status.CurrentRevision == s.Status.UpdateRevision
				})
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: ""}, fixture.Wait)
			case "aborted", "deleted/aborted":
				e.Request("web", rampv1.AnnotationAbort)
				got := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: ""}, fixture.Wait)
				if c := meta.FindStatusCondition(got.Status.Conditions, rampv1.ConditionWorkloadPaused); c == nil || c.Reason != "CanaryRolledBack" {
					t.Errorf("after the rollback, condition WorkloadPaused is %+v; want CanaryRolledBack", c)
				}
				waitStatefulSet(t, e, "v1 restored on every pod", func(s *appsv1.StatefulSet) bool {
					return partition(s) == 3 && s.Status.UpdatedReplicas == 0 && s.Status.ReadyReplicas == 3 && s.Status.CurrentReplicas == 3
				})
				if tc == "deleted/aborted" {
					deleteRollout(t, ss, false)
					break
				}
				setStatefulSetVersion(t, e, "v1")
				waitStatefulSet(t, e, "the partition released", func(s *appsv1.StatefulSet) bool {
					return partition(s) == 0 && s.Status.ObservedGeneration == s.Generation && s.Status.CurrentRevision == s.Status.UpdateRevision
				})
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: ""}, fixture.Wait)
			case "deleted", "deleted/control":
				deleteRollout(t, ss, tc == "deleted/control")
			case "deleted/promoted":
				// Promoted, the partition still held for scaleDownDelaySeconds.
				e.Request("web", rampv1.AnnotationPromote)
				clustertest.Eventually(t, fixture.Wait, "the promotion", func(context.Context) (bool, string) {
					ro := e.Get("web")
					return ro.Status.Workload != nil && ro.Status.Workload.PromotedAt != nil, fmt.Sprintf("%+v", ro.Status.Workload)
				})
				deleteRollout(t, ss, false)
			}

			tally := stop()
			total, codes, versions := tally.Snapshot()
			failed, _ := tally.Failures()
			t.Logf("%d requests, codes %v, versions %v; ready pods never below %d", total, codes, versions, ready.min("web"))
			switch tc {
			case "promoted/control":
				if len(failed) == 0 {
					t.Errorf("no request of %d failed: the test cannot see an outage", total)
				}
				return
			case "deleted/control":
				// The routing objects went in whatever order the garbage
				// collector took them, so requests fail or not by that
				// order (logged above); what is sure is the StatefulSet
				// left held, which deleteRollout would not accept.
				s := &appsv1.StatefulSet{}
				e.Read("web", s)
				if partition(s) != 1 || s.Status.UpdatedReplicas != 2 {
					t.Errorf("without the finalizer the StatefulSet is at partition %d with %d pods updated; want it left held at 1 with 2", partition(s), s.Status.UpdatedReplicas)
				}
				return
			}
			if len(failed) > 0 {
				t.Errorf("%d of %d requests failed; first: %+v", len(failed), total, failed[0])
			}
			if m := ready.min("web"); m < 2 {
				t.Errorf("ready pods fell to %d; the StatefulSet replaces one of its 3 at a time", m)
			}
			if after := podUID(t, e, "web-0"); tc == "aborted" && after != pod0 {
				t.Error("the rollback replaced pod 0, which never ran the canary")
			}
		})
	}
}

// deleteRollout deletes the Rollout web and waits until it is gone; then,
// but in the control, until the StatefulSet, its partition released, has
// rolled out the template it holds on its own. control: with no
// controller and no finalizer.
func deleteRollout(t *testing.T, ss *statefulSetCase, control bool) {
	t.Helper()
	e, ctx := ss.e, context.Background()
	if control {
		ss.ctrl.Kill()
		patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
		if err := e.C.Patch(ctx, &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS}}, patch); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.C.Delete(ctx, e.Get("web")); err != nil {
		t.Fatal(err)
	}
	waitRolloutGone(t, e)
	if control {
		waitCollected(t, e, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-stable"}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-canary"}})
	} else {
		waitStatefulSet(t, e, "its template rolled out on its own", func(s *appsv1.StatefulSet) bool {
			return partition(s) == 0 && s.Status.UpdatedReplicas == 3 && s.Status.ReadyReplicas == 3 && s.Status.CurrentRevision == s.Status.UpdateRevision
		})
	}
}

// statefulSetCase is a StatefulSet web of three v1 pods, run in place by
// the Rollout web (steps 50% and a pause), serving through the mesh
// stand-in.
type statefulSetCase struct {
	e     *fixture.Env
	plane *dataplane.Plane
	ctrl  *fixture.Controller
}

// startStatefulSet sets up the StatefulSet and its Rollout through router,
// with the controller as a process serving the webhooks when admission is
// set, and waits until
// the Rollout is Healthy and, with Gateway API, every proxy runs its
// route. grace is how long pods answer after their deletion.
func startStatefulSet(t *testing.T, router fixture.Router, admission bool, grace time.Duration) *statefulSetCase {
	t.Helper()
	e, plane, ctrl := startServing(t, router, admission, grace)

	ro := e.Rollout("web", "", fixture.SetWeight(50), fixture.Pause(0))
	e.Create(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Selector: ro.Spec.Selector, ServiceName: "web",
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: ro.Spec.Selector.MatchLabels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "web:v1",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					Env:   []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: "v1"}}}}}}}})
	ro.Spec.Replicas, ro.Spec.Template = nil, nil // the StatefulSet's
	ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Kind: rampv1.KindStatefulSet, Name: "web", Mode: rampv1.WorkloadInPlace}
	e.Route(ro, router)
	ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](3)
	if router == fixture.PodRatio { // the Service clients call, which Route leaves out
		e.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
			Spec: corev1.ServiceSpec{Selector: ro.Spec.Selector.MatchLabels, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
	} else {
		ro.Spec.Strategy.Canary.EndpointPropagationSeconds = ptr.To[int32](2) // the proxies lag up to 1.5 s
	}
	waitStatefulSet(t, e, "three ready pods", func(s *appsv1.StatefulSet) bool { return s.Status.ReadyReplicas == 3 })
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: ""}, fixture.Wait)
	if router == fixture.GatewayAPI {
		routeApplied(t, e) // the load starts on a mesh at rest
	}
	return &statefulSetCase{e: e, plane: plane, ctrl: ctrl}
}

// setStatefulSetVersion gives the StatefulSet web's pods version and
// returns it as written.
func setStatefulSetVersion(t *testing.T, e *fixture.Env, version string) *appsv1.StatefulSet {
	t.Helper()
	sts := &appsv1.StatefulSet{}
	e.Read("web", sts)
	patch := client.MergeFrom(sts.DeepCopy())
	c := &sts.Spec.Template.Spec.Containers[0]
	c.Image, c.Env = "web:"+version, []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: version}}
	if err := e.C.Patch(context.Background(), sts, patch); err != nil {
		t.Fatal(err)
	}
	return sts
}

// waitStatefulSet waits until the StatefulSet web is as ok says.
func waitStatefulSet(t *testing.T, e *fixture.Env, what string, ok func(*appsv1.StatefulSet) bool) *appsv1.StatefulSet {
	t.Helper()
	sts := &appsv1.StatefulSet{}
	clustertest.Eventually(t, fixture.Wait, "the StatefulSet: "+what, func(ctx context.Context) (bool, string) {
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, sts); err != nil {
			return false, err.Error()
		}
		return ok(sts), fmt.Sprintf("partition %d, status %+v", partition(sts), sts.Status)
	})
	return sts
}

// waitCollected waits until the garbage collector has deleted objs, by
// name in e's namespace.
func waitCollected(t *testing.T, e *fixture.Env, objs ...client.Object) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, "the Rollout's dependants to be collected", func(ctx context.Context) (bool, string) {
		for _, o := range objs {
			if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: o.GetName()}, o); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%T %s: %v", o, o.GetName(), err)
			}
		}
		return true, ""
	})
}

func partition(sts *appsv1.StatefulSet) int32 {
	if ru := sts.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		return ptr.Deref(ru.Partition, 0)
	}
	return 0
}

func getPod(t *testing.T, e *fixture.Env, name string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	e.Read(name, p)
	return p
}

func podUID(t *testing.T, e *fixture.Env, name string) types.UID { return getPod(t, e, name).UID }

func podRevision(t *testing.T, e *fixture.Env, name string) string {
	return getPod(t, e, name).Labels[appsv1.ControllerRevisionHashLabelKey]
}
