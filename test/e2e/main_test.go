// Package e2e runs Ramp's controller as a real process against the local
// cluster and checks whole scenarios end to end.
package e2e

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
)

func TestMain(m *testing.M) { fixture.Main(m) }

// ownCluster starts a cluster for one test, whose faults or CRDs must not
// reach the shared one, and gives a client of it. It stops with the test.
func ownCluster(t *testing.T, opts localcluster.Options) (*localcluster.Cluster, client.Client) {
	t.Helper()
	bins, err := localcluster.EnsureBinaries(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := localcluster.Start(context.Background(), bins, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	c, err := client.New(cluster.Config(), client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return cluster, c
}
