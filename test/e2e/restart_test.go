package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/daemon"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestControllerKilledAtEveryStep kills the controller with SIGKILL at
// several points of a canary (as it starts, in a timed pause, in an untimed
// pause that is promoted while no controller runs, while pods move, and
// during the scale-down delay), restarting it each time. The rollout must
// finish exactly as it would have: every step once and in order, the same
// final state, one promotion.
//
// With the SMI router it also checks, from a watch of the TrafficSplit,
// that the canary's weight only ever rose through the steps' weights:
// no restart made it dip or jump.
func TestControllerKilledAtEveryStep(t *testing.T) {
	for _, router := range []string{"podratio", "smi"} {
		t.Run(router, func(t *testing.T) {
			t.Parallel()
			killedAtEveryStep(t, router)
		})
	}
}

func killedAtEveryStep(t *testing.T, router string) {
	e := fixture.New(t)
	steps := []rampv1.Step{fixture.SetWeight(25), fixture.Pause(2 * time.Second), fixture.SetWeight(50), fixture.Pause(0), fixture.SetWeight(75)}
	ctrl := e.StartControllerProcess()
	ro := e.Rollout("web", "web:v1", steps...)
	atStep3 := "1:2 2:2"
	var split *fixture.Recorder
	if router == "smi" {
		e.Create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
		})
		ro.Spec.Service = "web"
		ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}}
		fixture.ShortMeshDelays(ro)
		atStep3 = "1:4 2:2"
		split = e.Record(schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplit"})
	}
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	seen := recordSteps(t, e, "web")
	restart := func(why string) {
		t.Logf("killing the controller: %s", why)
		ctrl.Kill()
		ctrl = e.StartControllerProcess()
	}
	// waitStep waits until the canary is at step or past it: a short step
	// may end between two looks (the record of steps checks them all).
	v1 := e.Get("web").Status.StableRevision
	waitStep := func(step int32) {
		clustertest.Eventually(t, fixture.Wait, fmt.Sprint("step ", step), func(ctx context.Context) (bool, string) {
			got, ro, err := e.Observe(ctx, "web")
			if err != nil {
				return false, err.Error()
			}
			promoted := ro.Status.CanaryRevision == "" && ro.Status.StableRevision != v1
			return promoted || ptr.Deref(ro.Status.CurrentStepIndex, -1) >= step, got.String()
		})
	}

	e.SetImage("web", "web:v2")
	waitStep(0)
	restart("the canary has just started")
	waitStep(1)
	restart("in the 2s pause")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: atStep3}, fixture.Wait)
	ctrl.Kill()
	e.Request("web", rampv1.AnnotationPromote) // promoted while no controller runs
	ctrl = e.StartControllerProcess()
	waitStep(4)
	restart("while pods move to 75%")
	clustertest.Eventually(t, fixture.Wait, "promotion", func(ctx context.Context) (bool, string) {
		got, ro, err := e.Observe(ctx, "web")
		return err == nil && ro.Status.CanaryRevision == "" && got.Replicas != "1:4", got.String()
	})
	restart("during the scale-down delay")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)

	want := []string{"0", "1", "2", "3", "4", ""}
	if router == "smi" {
		// Past the last step the canary scales to full before the
		// promotion moves traffic: index 5 is that wait.
		want = []string{"0", "1", "2", "3", "4", "5", ""}
	}
	if !slices.Equal(seen(), want) {
		t.Errorf("step indexes seen %q, want %q (each step once, in order)", seen(), want)
	}
	// An Event about a step is told once its status is written, so a
	// kill between the two may lose it but never repeats it (one Event
	// may tell of several steps of one pass). The steps themselves are
	// checked above.
	completed, promoted := stepEvents(t, e, "web")
	for i := 1; i <= len(steps); i++ {
		step := fmt.Sprintf("Step %d/%d ", i, len(steps))
		if n := strings.Count(strings.Join(completed, "\n"), step); n > 1 {
			t.Errorf("step %d told %d times: %q", i, n, completed)
		}
	}
	if len(completed) == 0 || promoted > 1 {
		t.Errorf("%d StepCompleted Events (%q), %d Promoted: want some, and one promotion at most", len(completed), completed, promoted)
	}
	if split != nil {
		canaryWeights := split.Values("web", func(u *unstructured.Unstructured) string {
			backends, _, _ := unstructured.NestedSlice(u.Object, "spec", "backends")
			return fmt.Sprint(backends)
		})
		want := []string{"100", "25", "50", "75", "0"} // canary weights, at rest first
		var got []string
		for _, v := range canaryWeights {
			got = append(got, v[strings.LastIndex(v, "weight:")+len("weight:"):len(v)-2])
		}
		if !slices.Equal(got[1:], want[1:]) {
			t.Errorf("canary weights went %v, want 0 → 25 → 50 → 75 → 0 with no dip (backends %v)", got, canaryWeights)
		}
	}
}

// recordSteps watches the Rollout and returns a function listing the
// distinct step indexes it went through ("" once the canary is over).
func recordSteps(t *testing.T, e *fixture.Env, name string) func() []string {
	wc, err := client.NewWithWatch(clustertest.Config(t), client.Options{Scheme: e.C.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	list := &rampv1.RolloutList{}
	w, err := wc.Watch(context.Background(), list, client.InNamespace(e.NS))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var (
		mu   sync.Mutex
		seen []string
	)
	go func() {
		for ev := range w.ResultChan() {
			ro, ok := ev.Object.(*rampv1.Rollout)
			if !ok || ro.Name != name {
				continue
			}
			step := ""
			if ro.Status.CurrentStepIndex != nil {
				step = fmt.Sprint(*ro.Status.CurrentStepIndex)
			} else if ro.Status.StableRevision == "" {
				continue
			}
			mu.Lock()
			if len(seen) > 0 || step != "" { // skip the idle state before the canary
				if len(seen) == 0 || seen[len(seen)-1] != step {
					seen = append(seen, step)
				}
			}
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func stepEvents(t *testing.T, e *fixture.Env, name string) (completed []string, promoted int) {
	var list eventsv1.EventList
	if err := e.C.List(context.Background(), &list, client.InNamespace(e.NS)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range list.Items {
		if ev.Regarding.Name != name {
			continue
		}
		reasons := fixture.Reasons(&ev)
		if slices.Contains(reasons, "StepCompleted") {
			completed = append(completed, ev.Note)
		}
		if slices.Contains(reasons, "Promoted") {
			promoted++
		}
	}
	return completed, promoted
}

// TestAnalysisRunSurvivesRestarts kills the controller twice while an
// analysis step measures. The run's measurements live in its status: it
// ends with exactly its count of them, and the metric server was asked at
// most once more per kill (a kill between a measurement and its record).
func TestAnalysisRunSurvivesRestarts(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"errorRate": 0}`)
	}))
	t.Cleanup(srv.Close)
	e.Create(&rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS},
		Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
			Name: "error-rate", Interval: &metav1.Duration{Duration: 500 * time.Millisecond}, Count: ptr.To[int32](10),
			SuccessCondition: "result <= 0.01",
			Provider:         rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: srv.URL, JSONPath: "{.errorRate}"}},
		}}},
	})
	ctrl := e.StartControllerProcess()
	step := rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}}
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), step, fixture.Pause(0)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	for _, after := range []int32{3, 6} {
		clustertest.Eventually(t, fixture.Wait, fmt.Sprintf("%d measurements", after), func(context.Context) (bool, string) {
			return hits.Load() >= after, ""
		})
		ctrl.Kill()
		ctrl = e.StartControllerProcess()
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "2", Replicas: "1:3 2:1"}, fixture.Wait)
	ro := e.Get("web")
	run := &rampv1.AnalysisRun{}
	e.Read("web-"+ro.Status.CanaryRevision+"-1-step-1", run)
	m := run.Status.MetricResults[0]
	if run.Status.Phase != rampv1.AnalysisSuccessful || m.Count != 10 || m.Successful != 10 {
		t.Errorf("run %s: %+v", run.Status.Phase, m)
	}
	if n := hits.Load(); n < 10 || n > 12 {
		t.Errorf("the metric server was asked %d times, want 10 (12 at most, one per kill)", n)
	}
}

// TestCallbackSurvivesRestart kills the controller while a webhook step
// awaits its callback; the restarted controller (at the same address, as
// behind its Service) accepts the callback and the canary goes on. The
// call is not made again: it had finished before the kill.
func TestCallbackSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	addr := "--callback-bind-address=" + freeLoopbackAddr(t)
	ctrl := e.StartControllerProcess(addr)
	sys := fixture.NewTestSystem(t, func(int, fixture.Call) (int, string) { return http.StatusAccepted, "" })
	step := rampv1.Step{Webhook: &rampv1.WebhookHook{
		URL: sys.URL, Body: `{"callback": "{{.CallbackURL}}"}`, Callback: &rampv1.CallbackSpec{},
	}}
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), step, fixture.SetWeight(50), fixture.Pause(0)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	url := fmt.Sprint(sys.WaitForCalls(1)[0].Body["callback"])
	clustertest.Eventually(t, fixture.Wait, "the call to be recorded as answered", func(ctx context.Context) (bool, string) {
		var runs rampv1.HookRunList
		if err := e.C.List(ctx, &runs, client.InNamespace(e.NS)); err != nil || len(runs.Items) != 1 {
			return false, fmt.Sprint(err)
		}
		s := runs.Items[0].Status
		return len(s.Attempts) == 1 && s.Attempts[0].Code == http.StatusAccepted, fmt.Sprintf("%+v", s)
	})
	ctrl.Kill()
	e.StartControllerProcess(addr)
	clustertest.Eventually(t, fixture.Wait, "the restarted controller to accept the callback", func(context.Context) (bool, string) {
		code, err := fixture.CallBack(url, true, "passed after the restart")
		return code == http.StatusOK, fmt.Sprintf("%d %v", code, err)
	})
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
	if n := len(sys.Calls()); n != 1 {
		t.Errorf("the test system was called %d times, want once", n)
	}
}

func freeLoopbackAddr(t *testing.T) string {
	addr, err := daemon.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestJobSurvivesRestart kills the controller while a job step's Job
// runs; the Job finishes while no controller runs, and the restarted one
// reads its outcome without starting another.
func TestJobSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctrl := e.StartControllerProcess()
	step := rampv1.Step{Job: &rampv1.JobHook{
		Container: corev1.Container{Name: "smoke", Image: "tests:v1"},
		// Its pod stays Pending until the test lets it run.
		Labels: map[string]string{localcluster.HoldNotReadyLabel: "true"},
	}}
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), step, fixture.SetWeight(50), fixture.Pause(0)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	var pod corev1.Pod
	clustertest.Eventually(t, fixture.Wait, "the test Job's pod", func(ctx context.Context) (bool, string) {
		var pods corev1.PodList
		if err := e.C.List(ctx, &pods, client.InNamespace(e.NS), client.HasLabels{"batch.kubernetes.io/job-name"}); err != nil || len(pods.Items) != 1 {
			return false, fmt.Sprint(err)
		}
		pod = pods.Items[0]
		return true, ""
	})
	ctrl.Kill()
	orig := pod.DeepCopy()
	delete(pod.Labels, localcluster.HoldNotReadyLabel)
	if err := e.C.Patch(context.Background(), &pod, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, fixture.Wait, "the Job to complete with no controller running", func(ctx context.Context) (bool, string) {
		var jobs batchv1.JobList
		if err := e.C.List(ctx, &jobs, client.InNamespace(e.NS)); err != nil || len(jobs.Items) != 1 {
			return false, fmt.Sprint(err)
		}
		return jobs.Items[0].Status.Succeeded == 1, fmt.Sprintf("%+v", jobs.Items[0].Status)
	})
	e.StartControllerProcess()
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
	var runs rampv1.HookRunList
	if err := e.C.List(context.Background(), &runs, client.InNamespace(e.NS)); err != nil || len(runs.Items) != 1 {
		t.Fatalf("HookRuns: %v %+v", err, runs.Items)
	}
	if s := runs.Items[0].Status; s.Phase != rampv1.HookSuccessful || s.JobName != runs.Items[0].Name {
		t.Errorf("run status: %+v", s)
	}
}
