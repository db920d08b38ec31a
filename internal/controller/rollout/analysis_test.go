package rollout_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// metricServer is a real HTTP server on loopback answering a JSON document
// that a test sets, and counting the requests.
type metricServer struct {
	*httptest.Server
	mu   sync.Mutex
	body string
	hits atomic.Int32
}

func newMetricServer(t *testing.T, body string) *metricServer {
	s := &metricServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *metricServer) set(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

// webTemplate checks {.errorRate} <= 0.01 at the server, count times.
func webTemplate(e *fixture.Env, name string, s *metricServer, count int32) {
	e.Create(&rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS},
		Spec: rampv1.AnalysisTemplateSpec{
			Args: []rampv1.Argument{{Name: "max", Value: ptr.To("0.01")}},
			Metrics: []rampv1.Metric{{
				Name: "error-rate", Interval: &metav1.Duration{Duration: 200 * time.Millisecond}, Count: ptr.To(count),
				SuccessCondition: "result <= double(args.max)",
				Provider: rampv1.MetricProvider{Web: &rampv1.WebMetric{
					URL: s.URL + "/canary?rev={{.CanaryRevision}}", JSONPath: "{.errorRate}",
				}},
			}},
		},
	})
}

// startCanary creates web at v1 with steps and moves it to v2.
func startCanary(t *testing.T, e *fixture.Env, steps ...rampv1.Step) {
	t.Helper()
	e.Create(e.Rollout("web", "web:v1", steps...))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
}

func analysisStep(template string) rampv1.Step {
	return rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: template}}}}
}

func TestAnalysisStep(t *testing.T) {
	t.Run("passes and the canary goes on", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		s := newMetricServer(t, `{"errorRate": 0.001}`)
		webTemplate(e, "errors", s, 3)
		startCanary(t, e, fixture.SetWeight(25), analysisStep("errors"), fixture.SetWeight(50), fixture.Pause(0))
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
		run := getRun(t, e, "web", "1-step-1")
		if run.Status.Phase != rampv1.AnalysisSuccessful || run.Status.MetricResults[0].Count != 3 {
			t.Errorf("run: %s %+v", run.Status.Phase, run.Status.MetricResults)
		}
		if got := s.hits.Load(); got != 3 {
			t.Errorf("the metric was measured %d times, want 3", got)
		}
		e.WaitForEvents("web", "AnalysisStarted", "StepCompleted")
	})
	t.Run("fails and the canary rolls back", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		s := newMetricServer(t, `{"errorRate": 0.2}`)
		webTemplate(e, "errors", s, 3)
		startCanary(t, e, fixture.SetWeight(25), analysisStep("errors"), fixture.Pause(0))
		ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
		if ro.Status.Abort == nil || ro.Status.Abort.Reason != "AnalysisFailed" ||
			!strings.Contains(ro.Status.Abort.Message, "metric error-rate") || !strings.Contains(ro.Status.Abort.Message, "0.2") {
			t.Errorf("abort: %+v", ro.Status.Abort)
		}
	})
	t.Run("inconclusive pauses until promoted", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		s := newMetricServer(t, `{"other": 1}`) // no errorRate: no data
		webTemplate(e, "errors", s, 1)
		startCanary(t, e, fixture.SetWeight(25), analysisStep("errors"), fixture.SetWeight(50), fixture.Pause(0))
		clustertest.Eventually(t, fixture.Wait, "the inconclusive analysis to pause the canary", func(ctx context.Context) (bool, string) {
			_, ro, err := e.Observe(ctx, "web")
			if err != nil {
				return false, err.Error()
			}
			c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionPaused)
			return ro.Status.Phase == rampv1.PhasePaused && c != nil && strings.Contains(c.Message, "inconclusive"), ro.Status.Message
		})
		e.Request("web", rampv1.AnnotationPromote)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
	})
	t.Run("a condition that does not compile stops the canary before it starts, until fixed", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		s := newMetricServer(t, `{"errorRate": 0}`)
		webTemplate(e, "errors", s, 1)
		tmpl := &rampv1.AnalysisTemplate{}
		if err := e.C.Get(context.Background(), client.ObjectKey{Namespace: e.NS, Name: "errors"}, tmpl); err != nil {
			t.Fatal(err)
		}
		tmpl.Spec.Metrics[0].SuccessCondition = "result <=" // no webhook here: the API server takes it
		if err := e.C.Update(context.Background(), tmpl); err != nil {
			t.Fatal(err)
		}
		startCanary(t, e, fixture.SetWeight(25), analysisStep("errors"), fixture.Pause(0))
		waitInvalidSpec(t, e, `AnalysisTemplate errors: spec.metrics[0].successCondition`)
		if got := s.hits.Load(); got != 0 {
			t.Errorf("measured %d times with a condition that cannot pass", got)
		}
		// The fix wakes the Rollout: the canary starts and passes.
		tmpl.Spec.Metrics[0].SuccessCondition = "result <= double(args.max)"
		if err := e.C.Update(context.Background(), tmpl); err != nil {
			t.Fatal(err)
		}
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "2", Replicas: "1:3 2:1"}, fixture.Wait)
	})
	t.Run("a held canary that replaced another retires it, and can be aborted", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		startCanary(t, e, fixture.SetWeight(25), fixture.Pause(0))
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
		e.Update("web", func(ro *rampv1.Rollout) {
			ro.Spec.Template.Spec.Containers[0].Image = "web:v3"
			ro.Spec.Strategy.Canary.Steps = []rampv1.Step{fixture.SetWeight(25), analysisStep("nope"), fixture.Pause(0)}
		})
		// v2 goes (it is no longer the canary), v1 is back to full scale,
		// v3 has no pod.
		waitHeld(t, e, `templateName: Not found: "nope"`, "1:4 2:0 3:0")
		e.Request("web", rampv1.AnnotationAbort)
		clustertest.Eventually(t, fixture.Wait, "the abort of the held canary", func(ctx context.Context) (bool, string) {
			state, ro, err := e.Observe(ctx, "web")
			if err != nil {
				return false, err.Error()
			}
			return ro.Status.Abort != nil && state.Replicas == "1:4 2:0 3:0", fmt.Sprintf("%s: %s", state, ro.Status.Message)
		})
		// Fixed after the abort, the canary stays rolled back.
		webTemplate(e, "nope", newMetricServer(t, `{"errorRate": 0}`), 1)
		e.AssertQuiet(2*time.Second, replicaSetGVK)
		if ro := e.Get("web"); ro.Status.Abort == nil {
			t.Errorf("the aborted canary started once its template came: %+v", ro.Status)
		}
	})
	t.Run("a missing template stops the canary before it starts, until created", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		startCanary(t, e, fixture.SetWeight(25), analysisStep("nope"), fixture.Pause(0))
		waitInvalidSpec(t, e, `spec.strategy.canary.steps[1].analysis.templates[0].templateName: Not found: "nope"`)
		webTemplate(e, "nope", newMetricServer(t, `{"errorRate": 0}`), 1)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "2", Replicas: "1:3 2:1"}, fixture.Wait)
	})
}

// waitInvalidSpec waits until web's canary is held by its preflight with
// a message that says want, and checks it has no pod and no traffic.
func waitInvalidSpec(t *testing.T, e *fixture.Env, want string) { waitHeld(t, e, want, "1:4 2:0") }

// waitHeld is waitInvalidSpec with the replicas of every revision the
// held canary must leave.
func waitHeld(t *testing.T, e *fixture.Env, want, replicas string) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, "the preflight to hold the canary", func(ctx context.Context) (bool, string) {
		state, ro, err := e.Observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionDegraded)
		ok := c != nil && c.Status == metav1.ConditionTrue && c.Reason == "InvalidSpec" && strings.Contains(c.Message, want) &&
			state.Replicas == replicas
		if ok && ro.Status.Weight.Reached != 0 {
			t.Fatalf("held canary: replicas %s, weight %v; want no canary pod and no traffic", state.Replicas, ro.Status.Weight)
		}
		return ok, fmt.Sprintf("%s: %s", state, ro.Status.Message)
	})
}

// TestBackgroundAnalysisAbortsTheMomentItFails: the background analysis
// measures through the steps; when the metric turns bad mid-canary, the
// canary rolls back without waiting for the step to end.
func TestBackgroundAnalysisAbortsTheMomentItFails(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	s := newMetricServer(t, `{"errorRate": 0}`)
	e.Create(&rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS},
		Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
			Name: "error-rate", Interval: &metav1.Duration{Duration: 200 * time.Millisecond},
			SuccessCondition: "result <= 0.01",
			Provider:         rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: s.URL, JSONPath: "{.errorRate}"}},
		}}},
	})
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(0))
	ro.Spec.Strategy.Canary.Analysis = &rampv1.BackgroundAnalysis{
		AnalysisStep: rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}},
	}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:3 2:1"}, fixture.Wait)
	clustertest.Eventually(t, fixture.Wait, "a few background measurements", func(context.Context) (bool, string) {
		return s.hits.Load() >= 3, ""
	})
	s.set(`{"errorRate": 0.5}`)
	got := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
	if got.Status.Abort == nil || !strings.Contains(got.Status.Abort.Message, "background AnalysisRun") {
		t.Errorf("abort: %+v", got.Status.Abort)
	}
}

func getRun(t *testing.T, e *fixture.Env, rollout, suffix string) *rampv1.AnalysisRun {
	t.Helper()
	ro := e.Get(rollout)
	rev := ro.Status.CanaryRevision
	if rev == "" {
		rev = ro.Status.StableRevision
	}
	run := &rampv1.AnalysisRun{}
	if err := e.C.Get(context.Background(), client.ObjectKey{Namespace: e.NS, Name: rollout + "-" + rev + "-" + suffix}, run); err != nil {
		t.Fatal(err)
	}
	return run
}
