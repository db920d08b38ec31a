package rollout_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// withHooks is web at v1 with the given steps and lifecycle hooks.
func withHooks(e *fixture.Env, hooks []rampv1.LifecycleHook, steps ...rampv1.Step) *rampv1.Rollout {
	ro := e.Rollout("web", "web:v1", steps...)
	ro.Spec.Strategy.Canary.Hooks = hooks
	return ro
}

// TestBeforeCanaryHook: the canary takes no traffic until its BeforeCanary
// hook passes, and a failing one rolls it back before the first step.
func TestBeforeCanaryHook(t *testing.T) {
	t.Run("gates the first step", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		sys := fixture.NewTestSystem(t, nil)
		hook := rampv1.LifecycleHook{On: rampv1.BeforeCanary, Webhook: &rampv1.WebhookHook{
			URL: sys.URL, Body: `{"callback": "{{.CallbackURL}}"}`, Callback: &rampv1.CallbackSpec{},
		}}
		e.Create(withHooks(e, []rampv1.LifecycleHook{hook}, fixture.SetWeight(25), fixture.Pause(0), fixture.SetWeight(50), fixture.Pause(0)))
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
		e.SetImage("web", "web:v2")
		url := fmt.Sprint(sys.WaitForCalls(1)[0].Body["callback"])
		// While the hook waits for its callback, the canary has started
		// (the webhook may be called before the pass that started it has
		// written the status) but has no pods and no weight.
		var state fixture.State
		var ro *rampv1.Rollout
		clustertest.Eventually(t, fixture.Wait, "the canary started", func(ctx context.Context) (bool, string) {
			s, r, err := e.Observe(ctx, "web")
			if err != nil {
				return false, err.Error()
			}
			state, ro = s, r
			return s.Step == "0", s.String()
		})
		if ro.Status.Weight.Asked != 0 || strings.Contains(state.Replicas, "2:1") {
			t.Errorf("while the BeforeCanary hook runs: %s, weight %s", state, ro.Status.Weight.Asked)
		}
		if code, err := fixture.CallBack(url, true, "environment ready"); err != nil || code != http.StatusOK {
			t.Fatalf("callback: %d %v", code, err)
		}
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	})
	t.Run("a failure rolls back", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		sys := fixture.NewTestSystem(t, func(int, fixture.Call) (int, string) { return http.StatusConflict, "migration pending" })
		hook := rampv1.LifecycleHook{On: rampv1.BeforeCanary, Webhook: &rampv1.WebhookHook{URL: sys.URL}}
		e.Create(withHooks(e, []rampv1.LifecycleHook{hook}, fixture.SetWeight(25), fixture.Pause(0)))
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
		e.SetImage("web", "web:v2")
		ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "0", Replicas: "1:4 2:0"}, fixture.Wait)
		if a := ro.Status.Abort; a == nil || a.Reason != "BeforeCanaryHookFailed" || !strings.Contains(a.Message, "migration pending") {
			t.Errorf("abort: %+v", a)
		}
	})
}

// TestReportHooks: AfterPromotion and AfterRollback hooks run once for
// each canary they follow, and notifications post the phases asked for
// in Slack's format.
func TestReportHooks(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	promoted, rolledBack, slack := fixture.NewTestSystem(t, nil), fixture.NewTestSystem(t, nil), fixture.NewTestSystem(t, nil)
	ro := withHooks(e, []rampv1.LifecycleHook{
		{On: rampv1.AfterPromotion, Webhook: &rampv1.WebhookHook{URL: promoted.URL}},
		{On: rampv1.AfterRollback, Webhook: &rampv1.WebhookHook{URL: rolledBack.URL}},
	}, fixture.SetWeight(25), fixture.Pause(0))
	ro.Spec.Strategy.Canary.Notifications = &rampv1.Notifications{URL: slack.URL, Phases: []rampv1.Phase{rampv1.PhaseDegraded}}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	if n := len(promoted.Calls()) + len(rolledBack.Calls()) + len(slack.Calls()); n != 0 {
		t.Fatalf("%d calls for the first revision, which had no canary", n)
	}

	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	v2 := e.Get("web").Status.CanaryRevision
	e.Request("web", rampv1.AnnotationPromoteFull)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
	if c := promoted.WaitForCalls(1)[0]; c.Body["canaryRevision"] != v2 || c.Body["step"] != string(rampv1.AfterPromotion) {
		t.Errorf("AfterPromotion call: %+v", c.Body)
	}

	e.SetImage("web", "web:v3")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:0 2:3 3:1"}, fixture.Wait)
	v3 := e.Get("web").Status.CanaryRevision
	e.Request("web", rampv1.AnnotationAbort)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:0 2:4 3:0"}, fixture.Wait)
	if c := rolledBack.WaitForCalls(1)[0]; c.Body["canaryRevision"] != v3 {
		t.Errorf("AfterRollback call: %+v", c.Body)
	}
	text := fmt.Sprint(slack.WaitForCalls(1)[0].Body["text"])
	if !strings.HasPrefix(text, "Rollout "+e.NS+"/web is Degraded: ") {
		t.Errorf("notification text %q", text)
	}
	// The report runs are finished and no pass starts another.
	clustertest.Eventually(t, fixture.Wait, "the report HookRuns to finish", func(ctx context.Context) (bool, string) {
		var runs rampv1.HookRunList
		if err := e.C.List(ctx, &runs, client.InNamespace(e.NS)); err != nil {
			return false, err.Error()
		}
		var states []string
		done := len(runs.Items) == 3
		for _, r := range runs.Items {
			states = append(states, r.Name+"="+string(r.Status.Phase))
			done = done && r.Status.Phase == rampv1.HookSuccessful
		}
		return done, strings.Join(states, " ")
	})
	e.Update("web", func(ro *rampv1.Rollout) {
		ro.Annotations = map[string]string{"touch": metav1.Now().Format(time.RFC3339Nano)}
	})
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:0 2:4 3:0"}, fixture.Wait)
	if p, r, s := len(promoted.Calls()), len(rolledBack.Calls()), len(slack.Calls()); p != 1 || r != 1 || s != 1 {
		t.Errorf("calls: %d AfterPromotion, %d AfterRollback, %d notifications; want one each", p, r, s)
	}
}
