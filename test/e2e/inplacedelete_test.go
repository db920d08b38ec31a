package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/clirun"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestDeletingAnInPlaceRolloutKeepsServing deletes a Rollout that runs its
// Deployment in place (Gateway API), as a Helm uninstall or a GitOps prune
// would, under 200 requests/s through three proxies that apply every
// change a second or more late, with pods that stop the instant they are
// deleted: at rest, mid-canary (paused at 50%; with `ramp uninstall`,
// after its dry run), after an abort, and mid hand over (promoted, the Deployment not yet serving v2). The traffic
// goes back to the Deployment's pods, the canary goes, the routing is
// given back, and only then is the Deployment unpaused. Unpaused with v2
// not promoted (mid-canary, aborted), it rolls v2 out on its own, as it
// would without Ramp, and its pods would need the preStop sleep any
// rolling update needs: there, requests count until the unpause. Not one
// fails, and the ready pods never fall below three. The control deletes
// mid-canary with no controller and no finalizer: requests fail, and the
// Deployment stays paused.
func TestDeletingAnInPlaceRolloutKeepsServing(t *testing.T) {
	t.Parallel()
	for _, phase := range []string{"healthy", "paused", "aborted", "handover", "control"} {
		t.Run(phase, func(t *testing.T) {
			t.Parallel()
			ip := startInPlace(t, fixture.GatewayAPI, true, 0, nil)
			e, ctx := ip.e, context.Background()
			ready := watchReady(t, clustertest.Config(t), e.NS)
			loaded := time.Now()
			stop := load(t, ip.plane, "web")
			if phase != "healthy" {
				ip.startCanary(true)
			}
			switch phase {
			case "aborted":
				e.Request("web", rampv1.AnnotationAbort)
				e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:0"}, fixture.Wait)
			case "handover":
				e.Request("web", rampv1.AnnotationPromote)
				clustertest.Eventually(t, fixture.Wait, "the promotion", func(ctx context.Context) (bool, string) {
					ro := e.Get("web")
					return ro.Status.Workload != nil && ro.Status.Workload.PromotedAt != nil, fmt.Sprintf("%+v", ro.Status.Workload)
				})
			case "control":
				// Nothing holds the Rollout: no controller, no finalizer.
				ip.ctrl.Kill()
				patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
				if err := e.C.Patch(ctx, &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS}}, patch); err != nil {
					t.Fatal(err)
				}
			}
			var resumed func() time.Time
			if phase == "paused" || phase == "aborted" {
				resumed = watchResume(t, e)
			}
			deleted := time.Now()
			if phase == "paused" {
				// As `ramp uninstall` does it, after its dry run.
				ns := []string{"--kubeconfig", clustertest.Kubeconfig(t), "-n", e.NS}
				out, err := clirun.Run(append(ns, "uninstall", "--dry-run")...)
				if err == nil || !strings.Contains(out, "then the Deployment is unpaused") || !strings.Contains(out, "not promoted") {
					t.Errorf("ramp uninstall --dry-run: %v; want the plan and a warning of the template not promoted:\n%s", err, out)
				}
				if e.Get("web").DeletionTimestamp != nil {
					t.Fatal("ramp uninstall --dry-run deleted the Rollout")
				}
				deleted = time.Now()
				if out, err := clirun.Run(append(ns, "uninstall")...); err != nil {
					t.Fatalf("ramp uninstall: %v\n%s", err, out)
				}
			} else if err := e.C.Delete(ctx, e.Get("web")); err != nil {
				t.Fatal(err)
			}
			waitRolloutGone(t, e)
			gone := time.Since(deleted)
			var until time.Duration // failures counted before; 0: all
			if resumed != nil {
				until = resumed().Sub(loaded)
			}
			tally := stop()
			total, codes, versions := tally.Snapshot()
			failed, _ := tally.Failures()
			failed = slices.DeleteFunc(failed, func(r dataplane.Request) bool { return until > 0 && r.At >= until })
			t.Logf("gone %s after the delete; %d requests, codes %v, versions %v; %d failed before the Deployment was unpaused; ready pods never below %d",
				gone.Round(100*time.Millisecond), total, codes, versions, len(failed), ready.min("web"))
			if phase == "control" {
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
			want := "v2"
			if phase == "healthy" {
				want = "v1"
			}
			// Unpaused, it runs the template it holds.
			waitDeployment(t, e, func(d *appsv1.Deployment) bool {
				c := d.Spec.Template.Spec.Containers[0]
				return !d.Spec.Paused && c.Image == "web:"+want && d.Status.UpdatedReplicas == 3 && d.Status.AvailableReplicas == 3
			})
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
	e.Read("web", dep)
	return dep
}
