package bench

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/daemon"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) { fixture.Main(m) }

// record writes a benchmark's part of bench/results.json and REPORT.md.
func record(b *testing.B, cfg *rest.Config, change func(*Report)) {
	b.Helper()
	repo, err := localcluster.RepoDir()
	if err != nil {
		b.Fatal(err)
	}
	version := "?"
	if dc, err := discovery.NewDiscoveryClientForConfig(cfg); err == nil {
		if v, err := dc.ServerVersion(); err == nil {
			version = v.GitVersion
		}
	}
	if err := Update(filepath.Join(repo, "bench"), ThisMachine(version), change); err != nil {
		b.Fatal(err)
	}
}

// controller is a controller process with its metrics and profiles on
// loopback ports.
type controller struct {
	*fixture.Controller
	Metrics, Pprof string
}

func startController(b *testing.B, e *fixture.Env, args ...string) controller {
	b.Helper()
	metrics, err := daemon.FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	pprof, err := daemon.FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	c := controller{
		Controller: e.StartControllerProcess(append([]string{"--metrics-bind-address", metrics, "--pprof-bind-address", pprof}, args...)...),
		Metrics:    "http://" + metrics + "/metrics",
		Pprof:      "http://" + pprof + "/debug/pprof/",
	}
	clustertest.Eventually(b, fixture.Wait, "the controller's metrics endpoint", func(context.Context) (bool, string) {
		_, err := Scrape(c.Metrics)
		return err == nil, fmt.Sprint(err)
	})
	return c
}

func (c controller) scrape(b *testing.B) Metrics {
	b.Helper()
	m, err := Scrape(c.Metrics)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func (c controller) process(b *testing.B) Process {
	b.Helper()
	p, err := ReadProcess(c.PID())
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// pausedAt waits until the Rollout's canary waits at step (a pause).
func pausedAt(b *testing.B, e *fixture.Env, name string, step int32) {
	b.Helper()
	clustertest.Eventually(b, fixture.Wait, fmt.Sprintf("%s paused at step %d", name, step), func(context.Context) (bool, string) {
		ro := e.Get(name)
		at := ptr.Deref(ro.Status.CurrentStepIndex, -1)
		return ro.Status.Phase == rampv1.PhasePaused && at == step && ro.Status.ObservedGeneration == ro.Generation,
			fmt.Sprintf("%s at step %d: %s", ro.Status.Phase, at, ro.Status.Message)
	})
}

// healthy waits until the Rollout runs one revision, all promoted.
func healthy(b *testing.B, e *fixture.Env, name string) {
	b.Helper()
	clustertest.Eventually(b, fixture.Wait, name+" healthy", func(context.Context) (bool, string) {
		ro := e.Get(name)
		return ro.Status.Phase == rampv1.PhaseHealthy && ro.Status.CanaryRevision == "" && ro.Status.ObservedGeneration == ro.Generation,
			fmt.Sprintf("%s: %s", ro.Status.Phase, ro.Status.Message)
	})
}

// routingObject names the object whose writes carry the canary's weight:
// the router's, named after the Rollout, or for pod ratio the canary's
// ReplicaSet.
func routingObject(e *fixture.Env, router fixture.Router, name string) string {
	if router == fixture.PodRatio {
		return name + "-" + e.Get(name).Status.CanaryRevision
	}
	return name
}

// weightSeen waits for the first write of object after revision `after`
// that gives the canary `want` percent, and returns when the watch
// delivered it. Pod ratio reads the canary ReplicaSet's replicas out of
// total.
func weightSeen(b *testing.B, rec *fixture.Recorder, router fixture.Router, object string, after int64, want float64, total int32) time.Time {
	b.Helper()
	var seen time.Time
	clustertest.Eventually(b, fixture.Wait, fmt.Sprintf("%s: canary weight %v%% written", object, want), func(context.Context) (bool, string) {
		w, ok := rec.FirstWriteAfter(object, after, func(u *unstructured.Unstructured) bool {
			return weightOf(router, u, total) == want
		})
		seen = w.Seen
		return ok, ""
	})
	return seen
}

func weightOf(router fixture.Router, u *unstructured.Unstructured, total int32) float64 {
	if router != fixture.PodRatio {
		return fixture.CanaryWeight(u)
	}
	replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	return float64(100 * replicas / int64(total))
}

// slug names a sub-benchmark after a router.
func slug(r fixture.Router) string { return strings.ReplaceAll(string(r), " ", "-") }

// inf is the last bucket's bound.
var inf = math.Inf(1)
