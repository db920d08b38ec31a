package e2e

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
)

// TestWatchNamespaces: a controller started with --watch-namespace for two
// namespaces rolls out in both and leaves a third alone.
func TestWatchNamespaces(t *testing.T) {
	t.Parallel()
	shop, payments, other := fixture.New(t), fixture.New(t), fixture.New(t)
	other.Create(other.Rollout("web", "web:v1", fixture.SetWeight(50)))
	shop.StartControllerProcess("--watch-namespace", payments.NS)
	for _, e := range []*fixture.Env{shop, payments} {
		e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(50)))
	}
	for _, e := range []*fixture.Env{shop, payments} {
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	}
	// Created before the others, it would have been reconciled by now.
	ro := &rampv1.Rollout{}
	if err := other.C.Get(context.Background(), client.ObjectKey{Namespace: other.NS, Name: "web"}, ro); err != nil || ro.Status.Phase != "" {
		t.Errorf("a Rollout outside the watched namespaces was reconciled: %v, phase %q", err, ro.Status.Phase)
	}
}
