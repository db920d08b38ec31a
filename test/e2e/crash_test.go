package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
)

// crashScript is what a Rollout of the campaign is meant to do.
type crashScript int

const (
	promoted     crashScript = iota // passes its analysis and its test
	failsMetrics                    // its analysis fails
	failsTest                       // its webhook test fails
)

// TestCrashCampaign: 50 Rollouts in flight at once (pod ratio, SMI,
// Gateway API and Istio; a third meant to be promoted, a third to fail their
// analysis, a third their test) while the controller is killed with
// SIGKILL 100 times at random instants and restarted each time. Every
// Rollout ends as its script says; each analysis step has exactly one
// completed run; each webhook step was called; no routing write ever gave
// a canary more than its current step's weight (20% before the checks, 60%
// after, all of it only at promotion).
func TestCrashCampaign(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := context.Background()
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rate := "0"
		if strings.HasSuffix(r.URL.Path, "/bad") {
			rate = "0.5"
		}
		fmt.Fprintf(w, `{"errorRate": %s}`, rate)
	}))
	t.Cleanup(metrics.Close)
	tests := fixture.NewTestSystem(t, func(_ int, c fixture.Call) (int, string) {
		if strings.Contains(c.Path, "/fail") {
			return http.StatusInternalServerError, "tests failed"
		}
		return http.StatusOK, "tests passed"
	})
	for _, name := range []string{"good", "bad"} {
		e.Create(&rampv1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS},
			Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
				Name: "error-rate", Interval: &metav1.Duration{Duration: 300 * time.Millisecond}, Count: ptr.To[int32](2),
				SuccessCondition: "result <= 0.01",
				Provider:         rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: metrics.URL + "/" + name, JSONPath: "{.errorRate}"}},
			}}},
		})
	}
	splits, routes, services := e.Record(fixture.SMI.GVK()), e.Record(fixture.GatewayAPI.GVK()), e.Record(fixture.Istio.GVK())

	const n = 50
	scripts, routed := map[string]crashScript{}, map[string]bool{}
	for i := range n {
		name, script := fmt.Sprintf("app-%02d", i), crashScript(i%3)
		scripts[name] = script
		check := rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "good"}}}}
		test := rampv1.Step{Webhook: &rampv1.WebhookHook{URL: tests.URL + "/" + name + "/pass"}}
		switch script {
		case failsMetrics:
			check.Analysis.Templates[0].TemplateName = "bad"
		case failsTest:
			test.Webhook.URL = tests.URL + "/" + name + "/fail"
		}
		// Pauses keep every canary in flight through the kills: the checks
		// come after the first, promotion after the last.
		wait := fixture.Pause(30 * time.Second)
		ro := e.Rollout(name, "app:v1", fixture.SetWeight(20), wait, check, test, wait, fixture.SetWeight(60), wait)
		ro.Spec.Replicas = ptr.To[int32](2)
		router := fixture.Routers[(i/3)%len(fixture.Routers)]
		e.Route(ro, router)
		routed[name] = router != fixture.PodRatio
		e.Create(ro)
	}
	ctrl := e.StartControllerProcess("--concurrency", "8")
	for name := range scripts {
		e.WaitFor(name, fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:2"}, 2*fixture.Wait)
	}
	for name := range scripts {
		e.SetImage(name, "app:v2")
	}

	// 100 kills at random instants: each controller lives 0.3 to 1.5 s (it
	// needs about half a second to start acting), so the kills span the
	// canaries' 90 s. The pause is what makes the instants random, not a
	// wait for anything.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for k := range 100 {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		ctrl.Kill()
		ctrl = e.StartControllerProcess("--concurrency", "8")
		if k%25 == 24 {
			t.Logf("%d kills; %d of %d rollouts settled", k+1, settled(t, e), n)
		}
	}

	for name, script := range scripts {
		want := fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:2"}
		if script != promoted {
			want = fixture.State{Phase: rampv1.PhaseDegraded, Step: "2", Replicas: "1:2 2:0"}
			if script == failsTest {
				want.Step = "3"
			}
		}
		ro := e.WaitFor(name, want, 3*fixture.Wait)
		reason := map[crashScript]string{failsMetrics: "AnalysisFailed", failsTest: "WebhookFailed"}[script]
		if got := ro.Status.Abort; (reason == "") != (got == nil) || (got != nil && got.Reason != reason) {
			t.Errorf("%s: abort %+v, want reason %q", name, got, reason)
		}
		var runs rampv1.AnalysisRunList
		if err := e.C.List(ctx, &runs, client.InNamespace(e.NS), client.MatchingLabels{"ramp.dev/rollout": name}); err != nil {
			t.Fatal(err)
		}
		if len(runs.Items) != 1 || !runs.Items[0].Status.Phase.Done() || len(runs.Items[0].Status.MetricResults) != 1 ||
			runs.Items[0].Status.MetricResults[0].Count > 2 {
			t.Errorf("%s: %d analysis runs, want one completed with at most its count of measurements: %+v", name, len(runs.Items), runs.Items)
		}
		if script != failsMetrics && !called(tests, name) {
			t.Errorf("%s: its webhook test was never called", name)
		}
	}
	// A failed canary never passed 20%. A promoted one passed 60% only to
	// take all the traffic at promotion, after it had been at 60%.
	for name, script := range scripts {
		limit, reached := 20.0, false
		if script == promoted {
			limit = 60
		}
		writes := slices.Concat(splits.Writes(name), routes.Writes(name), services.Writes(name))
		if routed[name] && len(writes) < 2 {
			t.Errorf("%s: %d routing writes recorded; the weight check saw nothing", name, len(writes))
		}
		for _, w := range writes {
			c := fixture.CanaryWeight(w.Object)
			if c > limit && !(script == promoted && c == 100 && reached) {
				t.Errorf("%s: a routing write gave the canary %v%% (step limit %v%%): %v", name, c, limit, w.Object.Object["spec"])
				break
			}
			reached = reached || c == limit
		}
	}
}

// settled counts the Rollouts that no longer run a canary: promoted or
// rolled back.
func settled(t *testing.T, e *fixture.Env) int {
	var list rampv1.RolloutList
	if err := e.C.List(context.Background(), &list, client.InNamespace(e.NS)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ro := range list.Items {
		if ro.Status.ObservedGeneration == ro.Generation && (ro.Status.Abort != nil || (ro.Status.CanaryRevision == "" && ro.Status.Phase == rampv1.PhaseHealthy)) {
			n++
		}
	}
	return n
}

func called(s *fixture.TestSystem, name string) bool {
	for _, c := range s.Calls() {
		if strings.Contains(c.Path, "/"+name+"/") {
			return true
		}
	}
	return false
}
