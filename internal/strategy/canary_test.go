package strategy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// world is a canary of 4 replicas at step 0 of steps, started at t0 and
// observed a second later, its revisions at rest with the canary's pods
// for nothing yet; change adjusts it.
func world(mesh bool, steps ...rampv1.Step) World {
	spec := &rampv1.RolloutSpec{Replicas: ptr.To[int32](4)}
	spec.Strategy.Canary.Steps = steps
	w := World{
		Now: t0.Add(time.Second), Spec: spec, Mesh: mesh, Replicas: 4,
		Status:  StepStatus{StepStartedAt: t0, ProgressAt: t0},
		Canary:  RevisionView{Hash: "c", Number: 2, Settled: true},
		Stable:  RevisionView{Hash: "s", Number: 1, Replicas: 4, Pods: 4, Available: 4, Settled: true},
		Routing: RoutingView{Propagation: 5 * time.Second},
		Runs:    map[string]RunView{},
		RunName: func(step string) string { return "web-c-1-" + step },
	}
	w.Pods = func(weight rampv1.Weight) (int32, int32) {
		if mesh {
			return traffic.MeshReplicas("", 4, weight)
		}
		c := traffic.ProportionalPods(4, weight)
		return c, 4 - c
	}
	return w
}

// withPods gives the canary n available pods and the stable one m.
func withPods(w World, canary, stable int32) World {
	w.Canary.Replicas, w.Canary.Pods, w.Canary.Available = canary, canary, canary
	w.Stable.Replicas, w.Stable.Pods, w.Stable.Available = stable, stable, stable
	return w
}

// actions names a plan's actions, in order.
func actions(p Plan) string {
	var out []string
	for _, a := range p.Actions {
		switch a := a.(type) {
		case StartRun:
			out = append(out, "start "+a.Name)
		case Route:
			route := fmt.Sprintf("route %s→%s %s", a.Target.Stable, a.Target.Canary, a.Target.Weight)
			for _, r := range a.Target.Routes {
				route += " +" + r.Name
			}
			out = append(out, route)
		case SetServedAt:
			if a.At == nil {
				out = append(out, "served forgotten")
			} else {
				out = append(out, "served at "+a.At.Sub(t0).String())
			}
		case StopClocks:
			out = append(out, "stop clocks")
		case ResumeClocks:
			out = append(out, "resume clocks")
		case Approximated:
			out = append(out, fmt.Sprintf("approximated %s as %s", a.Asked, a.Reached))
		case EndStep:
			out = append(out, "end step "+string(a.Outcome))
		case Abort:
			out = append(out, "abort "+a.Reason)
		case Promote:
			out = append(out, "promote")
		}
	}
	return strings.Join(out, ", ")
}

func analysisStep() rampv1.Step {
	return rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}}
}

func webhookStep() rampv1.Step { return rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://ci"}} }

// TestDecide walks the canary's transitions one by one: what a pass does
// and what it then waits for, from what it observed.
func TestDecide(t *testing.T) {
	w25, p0, p2s := fixtureSetWeight(25), rampv1.Step{Pause: &rampv1.PauseStep{}}, rampv1.Step{Pause: &rampv1.PauseStep{Duration: &metav1.Duration{Duration: 2 * time.Second}}}
	testers := rampv1.Step{SetHeaderRoute: &rampv1.HeaderRoute{Name: "testers",
		Match: []rampv1.HeaderMatch{{Name: "x-canary", Value: rampv1.StringMatch{Exact: ptr.To("yes")}}}}}
	noTesters := rampv1.Step{SetHeaderRoute: &rampv1.HeaderRoute{Name: "testers"}}
	for _, tc := range []struct {
		name    string
		world   World
		actions string
		waiting string
		flags   string // pause, verdict, promoting, until
	}{
		{"pod ratio: the canary's pod not there yet", world(false, w25, p0), "", "pods: canary 0 of 1 available, stable 4 pods going to 3", ""},
		{"pod ratio: pods there, the step ends, then the untimed pause waits", withPods(world(false, w25, p0), 1, 3),
			"end step Passed", "promotion (pause step)", "pause"},
		{"pod ratio: 1% of 4 pods is 25%: told", withPods(world(false, fixtureSetWeight(1), p0), 1, 3),
			"approximated 1 as 25, end step Passed", "promotion (pause step)", "pause"},
		{"mesh: pods there but not behind the canary Service yet", withPods(world(true, w25, p0), 1, 4),
			"served forgotten", "the canary Service to select revision 2's available pods", ""},
		{"mesh: served now, propagation starts", served(withPods(world(true, w25, p0), 1, 4), nil),
			"served at 1s", "every proxy to know the canary's pods", ""},
		{"mesh: served 6s ago, the weight is written", served(withPods(world(true, w25, p0), 1, 4), ptr.To(t0.Add(-5*time.Second))),
			"route s→c 25, end step Passed", "promotion (pause step)", "pause"},
		{"mesh: a later weight needs no propagation", atStep(written(withPods(world(true, w25, fixtureSetWeight(50), p0), 2, 4), 25), 1),
			"route s→c 50, end step Passed", "promotion (pause step)", "pause"},
		{"mesh: the canary side drains: the weight waits", held(served(withPods(world(true, w25, p0), 1, 4), ptr.To(t0.Add(-9*time.Second)))),
			"route s→c 25", "the traffic of revision 1 to drain from the canary Service", ""},
		{"mesh: a header route needs a canary pod first", world(true, testers, p0), "",
			"pods: canary 0 of 1 available", ""},
		{"mesh: the header route is written once every proxy knows the pod", served(withPods(world(true, testers, p0), 1, 4), ptr.To(t0.Add(-5*time.Second))),
			"route s→c 0 +testers, end step Passed", "promotion (pause step)", "pause"},
		{"mesh: a later weight keeps the route", atStep(served(withPods(world(true, testers, w25, p0), 1, 4), ptr.To(t0.Add(-9*time.Second))), 1),
			"route s→c 25 +testers, end step Passed", "promotion (pause step)", "pause"},
		{"mesh: a route removed by name", atStep(served(withPods(world(true, testers, w25, noTesters, p0), 1, 4), ptr.To(t0.Add(-9*time.Second))), 2),
			"route s→c 25, end step Passed", "promotion (pause step)", "pause"},
		{"timed pause not over", atStep(world(false, w25, p2s), 1), "", "pause until", "until"},
		{"timed pause over", atStep(withPods(world(false, w25, p2s), 1, 3), 1, -3*time.Second),
			"end step Passed, promote", "", ""},
		{"analysis: started", world(false, analysisStep()), "start web-c-1-step-0", "AnalysisRun web-c-1-step-0 (starting)", "verdict"},
		{"analysis: running", withRun(world(false, analysisStep()), "step-0", RunView{Phase: "Running", Progress: "Running, 2 measurements"}),
			"", "AnalysisRun web-c-1-step-0 (Running, 2 measurements)", "verdict"},
		{"analysis: passed, then promotion", withRun(withPods(world(false, analysisStep()), 0, 4), "step-0", RunView{Phase: "Successful"}),
			"end step Passed, promote", "", "verdict"},
		{"analysis: failed", withRun(world(false, analysisStep()), "step-0", RunView{Phase: "Failed", Message: "5xx 3%"}),
			"abort AnalysisFailed", "", "verdict"},
		{"analysis: error counts as failed", withRun(world(false, analysisStep()), "step-0", RunView{Phase: "Error"}),
			"abort AnalysisFailed", "", "verdict"},
		{"analysis: inconclusive waits for a person", withRun(world(false, analysisStep()), "step-0", RunView{Phase: "Inconclusive", Message: "no data"}),
			"", "a decision: AnalysisRun web-c-1-step-0 is inconclusive (no data)", "pause verdict"},
		{"webhook after a weight: the weight's pods first", world(false, w25, webhookStep()), "", "pods", ""},
		{"webhook: started, told the weight", atStep(withPods(world(false, w25, webhookStep()), 1, 3), 1), "start web-c-1-step-1", "HookRun web-c-1-step-1 (starting)", "verdict"},
		{"webhook: failed", atStep(withPods(withRun(world(false, w25, webhookStep()), "step-1", RunView{Phase: "Failed", Target: "POST http://ci", Message: "503"}), 1, 3), 1),
			"abort WebhookFailed", "", "verdict"},
		{"a check waits for the pods its weight asks (pods lost, or a blue/green preview coming up)", atStep(world(false, w25, webhookStep()), 1),
			"", "pods: canary 0 of 1 available", ""},
		{"a check does not wait for a canary with more pods than its weight asks (scaled up for a promotion)",
			atStep(withRun(withPods(world(true, w25, webhookStep()), 4, 4), "step-1", RunView{Phase: "Successful"}), 1),
			"end step Passed, route c→c 0, promote", "", "verdict"},
		{"webhook: passed", atStep(withPods(withRun(world(false, w25, webhookStep()), "step-1", RunView{Phase: "Successful"}), 1, 3), 1),
			"end step Passed, promote", "", "verdict"},
		{"promotion with a mesh waits for the canary at full scale", atStep(withPods(world(true, w25), 1, 4), 1),
			"", "the canary at full scale before promotion: 1 of 4 available", "promoting"},
		{"promotion with a mesh: stable Service first, then promote", atStep(withPods(world(true, w25), 4, 4), 1),
			"route c→c 0, promote", "", ""},
		{"promotion with a mesh, canary pods that replace stable ones (a StatefulSet): no full scale, stable Service first", atStep(replaces(withPods(world(true, w25), 1, 4)), 1),
			"route c→c 0, promote", "", ""},
		{"a promotion written by a pass whose status was lost: promote, not the step again", promotedRecord(withPods(world(true, w25, p0), 4, 4)),
			"end step Passed, end step Passed, route c→c 0, promote", "", ""},
		{"promotion held by a drain", held(atStep(withPods(world(true, w25), 4, 4), 1)),
			"route c→c 0", "to drain from the canary Service before promotion", "promoting"},
		{"spec.paused stops the clocks, and nothing moves", paused(withPods(world(false, w25), 1, 3)), "stop clocks", "resume (spec.paused is true)", ""},
		{"resumed: the clocks move on, the step goes on", resumed(atStep(world(false, w25, p2s), 1), 10*time.Second),
			"resume clocks", "pause until", "until"},
		{"no progress for the deadline: rolled back", deadline(world(false, w25)), "abort ProgressDeadlineExceeded", "pods: canary 0 of 1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Canary{}.Decide(tc.world)
			if got := actions(p); got != tc.actions {
				t.Errorf("actions:\n got %q\nwant %q", got, tc.actions)
			}
			if !strings.Contains(p.Waiting, tc.waiting) || (tc.waiting == "" && p.Waiting != "") {
				t.Errorf("waiting %q, want %q", p.Waiting, tc.waiting)
			}
			if got := flags(p); got != tc.flags {
				t.Errorf("flags %q, want %q", got, tc.flags)
			}
		})
	}
}

func replaces(w World) World {
	w.Replaces = true
	return w
}

func fixtureSetWeight(p int64) rampv1.Step { return rampv1.Step{SetWeight: ptr.To(rampv1.Percent(p))} }

func flags(p Plan) string {
	var f []string
	if p.PauseStep {
		f = append(f, "pause")
	}
	if p.VerdictWait {
		f = append(f, "verdict")
	}
	if p.Promoting {
		f = append(f, "promoting")
	}
	if p.PausedUntil != nil {
		f = append(f, "until")
	}
	return strings.Join(f, " ")
}

func served(w World, at *time.Time) World {
	w.Routing.Served, w.Routing.ServedAt = true, at
	return w
}

func written(w World, weight int64) World {
	w.Routing.Served, w.Routing.Written = true, rampv1.Percent(weight)
	return w
}

func promotedRecord(w World) World {
	w.Routing.Served, w.Routing.Promoted = true, true
	return w
}

func held(w World) World {
	w.Routing.Held, w.Routing.HeldBy = true, "revision 1"
	return w
}

func atStep(w World, i int, started ...time.Duration) World {
	w.Status.Step = i
	if len(started) > 0 {
		w.Status.StepStartedAt = w.Now.Add(started[0])
	}
	return w
}

func withRun(w World, step string, run RunView) World {
	w.Runs[w.RunName(step)] = run
	return w
}

func paused(w World) World {
	w.Spec.Paused = true
	return w
}

func resumed(w World, stopped time.Duration) World {
	w.Status.PausedAt = ptr.To(w.Now.Add(-stopped))
	return w
}

func deadline(w World) World {
	w.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
	w.Now = w.Status.ProgressAt.Add(61 * time.Second)
	return w
}

// TestDecideInvariants sweeps thousands of worlds — every step kind, run
// verdict, pod count, routing state, pause — and checks what must hold in
// any of them: a weight above 0 only on pods that carry it and that every
// proxy can know, nothing written while paused or held, a rollback the
// last thing a pass does, promotion only after every step.
func TestDecideInvariants(t *testing.T) {
	w25, w50, p0, p2s := fixtureSetWeight(25), fixtureSetWeight(50), rampv1.Step{Pause: &rampv1.PauseStep{}},
		rampv1.Step{Pause: &rampv1.PauseStep{Duration: &metav1.Duration{Duration: 2 * time.Second}}}
	sequences := [][]rampv1.Step{{w25, p0}, {analysisStep()}, {webhookStep()}, {w25, p2s, w50}, {w25, analysisStep(), w50}}
	phases := []string{"absent", "Running", "Successful", "Failed", "Inconclusive"}
	n := 0
	for _, mesh := range []bool{false, true} {
		for _, steps := range sequences {
			for step := 0; step <= len(steps); step++ {
				for _, pods := range []int32{0, 1, 2, 4} {
					for _, phase := range phases {
						for _, routing := range []RoutingView{
							{}, {Served: true}, {Served: true, ServedAt: ptr.To(t0.Add(-time.Minute))},
							{Served: true, Written: rampv1.Percent(25)}, {Held: true, HeldBy: "revision 1"},
						} {
							for _, isPaused := range []bool{false, true} {
								w := withPods(world(mesh, steps...), pods, 4)
								w.Status.Step = step
								routing.Propagation = 5 * time.Second
								w.Routing = routing
								w.Spec.Paused = isPaused
								if phase != "absent" {
									for i := range steps {
										w.Runs[w.RunName(fmt.Sprintf("step-%d", i))] = RunView{Phase: phase}
									}
								}
								checkInvariants(t, w, Canary{}.Decide(w))
								n++
							}
						}
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d worlds swept", n)
	}
}

func checkInvariants(t *testing.T, w World, p Plan) {
	t.Helper()
	for _, v := range violations(w, p) {
		t.Errorf("%s\n  world: step %d/%d mesh %v canary %d pods, routing %+v, runs %v, paused %v\n  plan: %s (waiting %q)",
			v, w.Status.Step, len(w.Spec.Strategy.Canary.Steps), w.Mesh, w.Canary.Available,
			w.Routing, w.Runs, w.Spec.Paused, actions(p), p.Waiting)
	}
}

// violations lists the invariants a plan breaks in its world.
func violations(w World, p Plan) []string {
	var out []string
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	steps := w.Spec.Strategy.Canary.Steps
	if w.Spec.Paused {
		if got := actions(p); got != "stop clocks" && got != "" {
			fail("a paused canary acted")
		}
		return out
	}
	ended := 0
	for i, a := range p.Actions {
		switch a := a.(type) {
		case Abort:
			if i != len(p.Actions)-1 {
				fail("a rollback is not the last thing the pass does")
			}
		case Route:
			if a.Target.Weight > 0 {
				canary, stable := w.Pods(a.Target.Weight)
				if w.Canary.Available < canary || w.Stable.Replicas != stable {
					fail("weight %s written without its pods", a.Target.Weight)
				}
				first := w.Routing.Written == 0 && ended == 0
				if first && (!w.Routing.Served || w.Routing.ServedAt == nil || w.Now.Before(w.Routing.ServedAt.Add(w.Routing.Propagation))) {
					fail("first weight written before every proxy could know the canary's pods")
				}
			}
			if w.Routing.Held && i+1 < len(p.Actions) {
				if _, next := p.Actions[i+1].(EndStep); next {
					fail("a held weight ended its step")
				}
			}
		case StartRun:
			if _, exists := w.Runs[a.Name]; exists {
				fail("started run %s, which exists", a.Name)
			}
		case EndStep:
			ended++
		case Promote:
			if w.Status.Step+ended != len(steps) {
				fail("promoted after %d of %d steps", w.Status.Step+ended, len(steps))
			}
			if w.Mesh && (w.Canary.Available < w.Replicas || w.Routing.Held) {
				fail("promoted with a mesh before the canary was at full scale and free to move")
			}
		}
	}
	if w.Status.Step+ended > len(steps) {
		fail("ended %d steps from step %d of %d", ended, w.Status.Step, len(steps))
	}
	if p.Weight < 0 || p.Weight > rampv1.FullWeight {
		fail("weight %s", p.Weight)
	}
	return out
}

// TestInvariantsCatchBadPlans is the negative control of the sweep: plans
// that break each invariant are caught.
func TestInvariantsCatchBadPlans(t *testing.T) {
	w := world(true, fixtureSetWeight(25), rampv1.Step{Pause: &rampv1.PauseStep{}})
	route25 := Route{Target: traffic.Target{Stable: "s", Canary: "c", Weight: rampv1.Percent(25)}}
	for _, tc := range []struct {
		name  string
		world World
		plan  Plan
	}{
		{"weight without pods", w, Plan{Actions: []Action{route25}}},
		{"first weight before propagation", served(withPods(w, 1, 4), ptr.To(w.Now)), Plan{Actions: []Action{route25}}},
		{"held weight ends its step", held(withPods(w, 1, 4)), Plan{Actions: []Action{Route{}, EndStep{}}}},
		{"promotion before the last step", withPods(w, 4, 4), Plan{Actions: []Action{Promote{}}}},
		{"acting after a rollback", w, Plan{Actions: []Action{Abort{}, Route{}}}},
		{"starting a run that exists", withRun(w, "step-0", RunView{}), Plan{Actions: []Action{StartRun{Name: w.RunName("step-0")}}}},
		{"acting while paused", paused(w), Plan{Actions: []Action{EndStep{}}}},
	} {
		if v := violations(tc.world, tc.plan); len(v) == 0 {
			t.Errorf("%s: not caught", tc.name)
		}
	}
}
