package rollout_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func webhookStep(h rampv1.WebhookHook) rampv1.Step { return rampv1.Step{Webhook: &h} }

// rolledBack waits for web's canary to be rolled back at step 1 and
// returns the abort.
func rolledBack(t *testing.T, e *fixture.Env, reason string) *rampv1.AbortStatus {
	t.Helper()
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
	if ro.Status.Abort == nil || ro.Status.Abort.Reason != reason {
		t.Fatalf("abort: %+v, want reason %s", ro.Status.Abort, reason)
	}
	return ro.Status.Abort
}

// wentOn waits for web's canary to pass step 1 and pause at step 3.
func wentOn(t *testing.T, e *fixture.Env) {
	t.Helper()
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
}

// TestWebhookStep calls a real test service on loopback.
func TestWebhookStep(t *testing.T) {
	t.Run("passes and the canary goes on", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		sys := fixture.NewTestSystem(t, nil)
		startCanary(t, e, fixture.SetWeight(25), webhookStep(rampv1.WebhookHook{URL: sys.URL + "/run?svc={{.CanaryService}}"}),
			fixture.SetWeight(50), fixture.Pause(0))
		wentOn(t, e)
		calls := sys.Calls()
		if len(calls) != 1 {
			t.Fatalf("%d calls, want 1", len(calls))
		}
		run := getHookRun(t, e, "1-step-1")
		c := calls[0]
		if c.Method != http.MethodPost || c.Header.Get("Idempotency-Key") != string(run.UID) ||
			c.Body["canaryRevision"] != run.Spec.Context.CanaryRevision || c.Body["weight"] != "25" || c.Body["step"] != "1" {
			t.Errorf("call %+v; run %s %+v", c, run.UID, run.Spec.Context)
		}
		if run.Status.Phase != rampv1.HookSuccessful || run.Status.Target != "POST "+sys.URL+"/run" {
			t.Errorf("run status %+v", run.Status)
		}
		e.WaitForEvents("web", "HookStarted", "StepCompleted")
	})
	t.Run("a failure rolls back with the test's message", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		sys := fixture.NewTestSystem(t, func(int, fixture.Call) (int, string) {
			return http.StatusInternalServerError, "3 of 40 checkout tests failed"
		})
		startCanary(t, e, fixture.SetWeight(25), webhookStep(rampv1.WebhookHook{URL: sys.URL}), fixture.Pause(0))
		abort := rolledBack(t, e, "WebhookFailed")
		if !strings.Contains(abort.Message, "HTTP 500 Internal Server Error: 3 of 40 checkout tests failed") {
			t.Errorf("abort message: %s", abort.Message)
		}
	})
	t.Run("a timeout fails", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		sys := fixture.NewTestSystem(t, func(int, fixture.Call) (int, string) { return fixture.Hang, "" })
		startCanary(t, e, fixture.SetWeight(25), webhookStep(rampv1.WebhookHook{
			URL: sys.URL, Timeout: &metav1.Duration{Duration: 300 * time.Millisecond},
		}), fixture.Pause(0))
		abort := rolledBack(t, e, "WebhookFailed")
		if !strings.Contains(abort.Message, "no answer within 300ms after 1 attempt(s)") {
			t.Errorf("abort message: %s", abort.Message)
		}
	})
	t.Run("retries, then passes", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		sys := fixture.NewTestSystem(t, func(n int, _ fixture.Call) (int, string) {
			if n < 2 {
				return http.StatusServiceUnavailable, "warming up"
			}
			return http.StatusOK, "{}"
		})
		startCanary(t, e, fixture.SetWeight(25), webhookStep(rampv1.WebhookHook{
			URL: sys.URL, Retries: ptr.To[int32](3), RetryBackoff: &metav1.Duration{Duration: 100 * time.Millisecond},
		}), fixture.SetWeight(50), fixture.Pause(0))
		wentOn(t, e)
		calls := sys.Calls()
		run := getHookRun(t, e, "1-step-1")
		if len(calls) != 3 || run.Status.AttemptCount != 3 {
			t.Fatalf("%d calls, %d attempts recorded; want 3", len(calls), run.Status.AttemptCount)
		}
		for i, c := range calls {
			if c.Header.Get("Idempotency-Key") != string(run.UID) {
				t.Errorf("call %d carries key %q, want the run's UID", i, c.Header.Get("Idempotency-Key"))
			}
		}
		if a := run.Status.Attempts; a[0].Code != 503 || a[2].Code != 200 || !strings.Contains(a[0].Message, "warming up") {
			t.Errorf("attempts: %+v", a)
		}
	})
}

// TestWebhookCallback: the test system answers the call at once and
// reports its verdict later at the callback URL it was given.
func TestWebhookCallback(t *testing.T) {
	callbackStep := func(sys *fixture.TestSystem, timeout time.Duration) rampv1.Step {
		return webhookStep(rampv1.WebhookHook{
			URL: sys.URL, Body: `{"callback": "{{.CallbackURL}}", "revision": "{{.CanaryRevision}}"}`,
			Callback: &rampv1.CallbackSpec{Timeout: &metav1.Duration{Duration: timeout}},
		})
	}
	// start runs web's canary to a callback step at index 1 (then the
	// given steps) and returns the callback URL the test system got.
	start := func(t *testing.T, timeout time.Duration, then ...rampv1.Step) (*fixture.Env, string) {
		e := fixture.New(t)
		e.StartController()
		sys := fixture.NewTestSystem(t, nil)
		startCanary(t, e, append([]rampv1.Step{fixture.SetWeight(25), callbackStep(sys, timeout)}, then...)...)
		return e, fmt.Sprint(sys.WaitForCalls(1)[0].Body["callback"])
	}
	accepted := func(t *testing.T, url string, success bool, msg string, want int) {
		t.Helper()
		code, err := fixture.CallBack(url, success, msg)
		if err != nil || code != want {
			t.Fatalf("callback answered %d, %v; want %d", code, err, want)
		}
	}
	t.Run("success goes on", func(t *testing.T) {
		t.Parallel()
		e, url := start(t, time.Minute, fixture.SetWeight(50), fixture.Pause(0))
		awaiting(t, e)
		accepted(t, url, true, "all 40 tests passed", http.StatusOK)
		wentOn(t, e)
		if run := getHookRun(t, e, "1-step-1"); run.Status.Message != "callback: success: all 40 tests passed" {
			t.Errorf("run: %+v", run.Status)
		}
	})
	t.Run("failure rolls back with its message", func(t *testing.T) {
		t.Parallel()
		e, url := start(t, time.Minute, fixture.Pause(0))
		awaiting(t, e)
		accepted(t, url, false, "**smoke test** failed: /cart answers 502", http.StatusOK)
		abort := rolledBack(t, e, "WebhookFailed")
		if !strings.Contains(abort.Message, "callback: failure: **smoke test** failed: /cart answers 502") {
			t.Errorf("abort message: %s", abort.Message)
		}
	})
	t.Run("no callback in time fails, and a late one is refused", func(t *testing.T) {
		t.Parallel()
		e, url := start(t, time.Second, fixture.Pause(0))
		abort := rolledBack(t, e, "WebhookFailed")
		if !strings.Contains(abort.Message, "no callback within 1s of the call") {
			t.Errorf("abort message: %s", abort.Message)
		}
		accepted(t, url, true, "late", http.StatusForbidden)
	})
	t.Run("the token of an attempt that timed out stays good", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		// The receiver takes the first call but answers too late, then
		// skips the retry as a repeat of the same Idempotency-Key.
		sys := fixture.NewTestSystem(t, func(n int, _ fixture.Call) (int, string) {
			if n == 0 {
				return fixture.Hang, ""
			}
			return http.StatusOK, `{"duplicate": true}`
		})
		step := webhookStep(rampv1.WebhookHook{
			URL: sys.URL, Body: `{"callback": "{{.CallbackURL}}"}`, Callback: &rampv1.CallbackSpec{},
			Timeout: &metav1.Duration{Duration: 300 * time.Millisecond}, Retries: ptr.To[int32](1),
			RetryBackoff: &metav1.Duration{Duration: 100 * time.Millisecond},
		})
		startCanary(t, e, fixture.SetWeight(25), step, fixture.SetWeight(50), fixture.Pause(0))
		calls := sys.WaitForCalls(2)
		if calls[0].Header.Get("Idempotency-Key") != calls[1].Header.Get("Idempotency-Key") {
			t.Fatal("the retry has another Idempotency-Key")
		}
		awaiting(t, e)
		accepted(t, fmt.Sprint(calls[0].Body["callback"]), true, "from the first call", http.StatusOK)
		wentOn(t, e)
	})
	t.Run("a forged token is refused, the real one accepted once", func(t *testing.T) {
		t.Parallel()
		e, url := start(t, time.Minute, fixture.SetWeight(50), fixture.Pause(0))
		awaiting(t, e)
		token := url[strings.LastIndex(url, "/")+1:]
		forged := strings.TrimSuffix(url, token) + strings.Repeat("A", len(token))
		accepted(t, forged, true, "forged", http.StatusForbidden)
		other := strings.Replace(url, "-step-1/", "-step-0/", 1)
		if other == url {
			t.Fatalf("no run name in %s", url)
		}
		accepted(t, other, true, "wrong run", http.StatusForbidden)
		if run := getHookRun(t, e, "1-step-1"); run.Status.Phase != rampv1.HookRunning || run.Status.Callback == nil {
			t.Fatalf("a refused callback changed the run: %+v", run.Status)
		}
		accepted(t, url, true, "real", http.StatusOK)
		accepted(t, url, false, "replayed", http.StatusForbidden)
		wentOn(t, e)
		if run := getHookRun(t, e, "1-step-1"); run.Status.Message != "callback: success: real" {
			t.Errorf("run: %+v", run.Status)
		}
	})
}

// awaiting waits until web's step-1 HookRun awaits its callback.
func awaiting(t *testing.T, e *fixture.Env) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, "the run to await its callback", func(ctx context.Context) (bool, string) {
		run, err := hookRun(ctx, e, "1-step-1")
		if err != nil {
			return false, err.Error()
		}
		n := len(run.Status.Attempts)
		return run.Status.Callback != nil && n > 0 && run.Status.Attempts[n-1].FinishedAt != nil, fmt.Sprintf("%+v", run.Status)
	})
}

// TestJobStep runs test Jobs on the local cluster; kwok ends their pods
// with the exit code a test annotates.
func TestJobStep(t *testing.T) {
	jobStep := func(annotations map[string]string) rampv1.Step {
		return rampv1.Step{Job: &rampv1.JobHook{
			Container:   corev1.Container{Name: "smoke", Image: "tests:v1", Args: []string{"--target", "$(RAMP_CANARY_SERVICE)"}},
			Annotations: annotations,
		}}
	}
	t.Run("passes and is cleaned up", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		startCanary(t, e, fixture.SetWeight(25), jobStep(nil), fixture.SetWeight(50), fixture.Pause(0))
		wentOn(t, e)
		run := getHookRun(t, e, "1-step-1")
		if run.Status.Phase != rampv1.HookSuccessful || !strings.Contains(run.Status.Message, "succeeded") {
			t.Errorf("run: %+v", run.Status)
		}
		clustertest.Eventually(t, fixture.Wait, "the Job to be deleted (cleanup OnSuccess)", func(ctx context.Context) (bool, string) {
			err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: run.Status.JobName}, &batchv1.Job{})
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
	})
	t.Run("a failure rolls back and keeps the Job", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		startCanary(t, e, fixture.SetWeight(25), jobStep(map[string]string{localcluster.ExitCodeAnnotation: "3"}), fixture.Pause(0))
		abort := rolledBack(t, e, "JobFailed")
		if !strings.Contains(abort.Message, "failed: BackoffLimitExceeded") {
			t.Errorf("abort message: %s", abort.Message)
		}
		job := &batchv1.Job{}
		name := getHookRun(t, e, "1-step-1").Status.JobName
		if err := e.C.Get(context.Background(), client.ObjectKey{Namespace: e.NS, Name: name}, job); err != nil {
			t.Fatalf("the failed Job is gone: %v", err)
		}
		env := map[string]string{}
		for _, v := range job.Spec.Template.Spec.Containers[0].Env {
			env[v.Name] = v.Value
		}
		if env["RAMP_ROLLOUT"] != "web" || env["RAMP_CANARY_REVISION"] == "" || env["RAMP_WEIGHT"] != "25" || env["RAMP_NAMESPACE"] != e.NS {
			t.Errorf("Job env: %v", env)
		}
	})
}

func hookRun(ctx context.Context, e *fixture.Env, suffix string) (*rampv1.HookRun, error) {
	ro := &rampv1.Rollout{}
	if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, ro); err != nil {
		return nil, err
	}
	rev := ro.Status.CanaryRevision
	if rev == "" && ro.Status.Abort != nil {
		rev = ro.Status.Abort.Revision
	}
	run := &rampv1.HookRun{}
	err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web-" + rev + "-" + suffix}, run)
	return run, err
}

func getHookRun(t *testing.T, e *fixture.Env, suffix string) *rampv1.HookRun {
	t.Helper()
	run, err := hookRun(context.Background(), e, suffix)
	if err != nil {
		t.Fatal(err)
	}
	return run
}
