package e2e

import (
	"context"
	"fmt"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestControlPlaneRestarts: on a cluster of its own (the shared one serves
// the other tests), kube-apiserver and then etcd are restarted while a
// canary waits at a step. The controller, running throughout, acts on the
// promotions asked after each restart: it recovers with no operator action.
func TestControlPlaneRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster, c := fixture.OwnCluster(t, localcluster.Options{Nodes: 1, PodCIDR: "127.4.0.0/16"})
	e := &fixture.Env{T: t, NS: "default", C: c}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- manager.Run(mctx, cluster.Config(), manager.Options{
			MetricsAddr: "0", ProbeAddr: "0", Concurrency: 2, InProcessTest: true, CallbackAddr: "127.0.0.1:0",
		})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})

	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0), fixture.SetWeight(50), fixture.Pause(0)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)

	restart := func(component string) {
		t.Helper()
		if err := cluster.Restart(component); err != nil {
			t.Fatal(err)
		}
		clustertest.Eventually(t, fixture.Wait, "the API to answer after restarting "+component, func(ctx context.Context) (bool, string) {
			err := c.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, &rampv1.Rollout{})
			return err == nil, fmt.Sprint(err)
		})
	}
	restart("kube-apiserver")
	e.Request("web", rampv1.AnnotationPromote)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)

	restart("etcd")
	e.Request("web", rampv1.AnnotationPromote)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
}
