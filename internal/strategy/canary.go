package strategy

import (
	"fmt"
	"strconv"
	"time"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Canary is the progressive canary: the steps in order, as far as they
// complete in one pass, then promotion.
type Canary struct{}

var _ Strategy = Canary{}

// Decide plans one pass of a canary in flight.
func (Canary) Decide(w World) Plan {
	d := &decision{w: w, s: w.Status, written: w.Routing.Written, servedAt: w.Routing.ServedAt}
	d.run()
	return d.plan
}

// decision is one Decide in progress. s and written follow what the plan
// does so far (a step ended, a weight written), so that the steps after it
// in the same pass see them.
type decision struct {
	w        World
	s        StepStatus
	written  rampv1.Weight
	servedAt *time.Time
	plan     Plan
	aborted  bool
}

func (d *decision) do(a Action) { d.plan.Actions = append(d.plan.Actions, a) }

func (d *decision) requeueAfter(x time.Duration) {
	x = max(x, time.Millisecond)
	if d.plan.Requeue == 0 || x < d.plan.Requeue {
		d.plan.Requeue = x
	}
}

func (d *decision) abort(reason, format string, args ...any) {
	d.do(Abort{Reason: reason, Message: fmt.Sprintf(format, args...)})
	d.aborted = true
}

func (d *decision) steps() []rampv1.Step { return d.w.Spec.Strategy.Canary.Steps }

func (d *decision) run() {
	steps := d.steps()
	for {
		i := d.s.Step
		// The routes of the steps passed stay; a route step's own is
		// written once its pods can take its requests, and a removed one
		// keeps the canary's pod until its removal is written.
		d.plan.Routes, d.plan.Serving = rampv1.RoutesAt(steps, i-1), rampv1.RoutesAt(steps, i)
		if len(d.plan.Serving) == 0 {
			d.plan.Serving = d.plan.Routes
		}
		if d.w.Spec.Paused {
			// Nothing moves while paused, not even to a step a promotion
			// reached: the weight stays what was last asked, and the
			// clocks stop.
			d.plan.Weight = d.s.Asked
			d.plan.Waiting = "resume (spec.paused is true)"
			if d.s.PausedAt == nil {
				d.do(StopClocks{})
				d.s.PausedAt = ptr.To(d.w.Now)
			}
			return
		}
		if d.s.PausedAt != nil {
			held := d.w.Now.Sub(*d.s.PausedAt)
			d.s.StepStartedAt, d.s.ProgressAt, d.s.PausedAt = d.s.StepStartedAt.Add(held), d.s.ProgressAt.Add(held), nil
			d.do(ResumeClocks{})
		}
		if i < len(steps) && d.w.Routing.Promoted {
			// Going back to a step would move traffic back to the old
			// revision; the promotion can only have been written once
			// every step passed.
			d.do(EndStep{Outcome: rampv1.StepPassed, Why: "done (its promotion was already written)"})
			d.s.Step, d.s.StepStartedAt, d.s.ProgressAt = i+1, d.w.Now, d.w.Now
			continue
		}
		if i >= len(steps) {
			// Traffic stays where the last step left it until the
			// promotion moves it.
			d.plan.Weight = rampv1.WeightAt(steps, len(steps)-1)
			d.promote()
			return
		}
		d.plan.Weight = rampv1.WeightAt(steps, i)
		if i == 0 && !d.beforeCanary() {
			// The canary gets no traffic until its BeforeCanary hooks
			// pass.
			d.plan.Weight, d.plan.VerdictWait = 0, true
			return
		}
		if d.background(); d.aborted {
			return
		}
		done := d.stepDone(i)
		if !done {
			d.checkDeadline()
			return
		}
		if steps[i].SetWeight != nil {
			d.approximation()
		}
		d.do(EndStep{Outcome: rampv1.StepPassed, Why: "done"})
		d.s.Step, d.s.StepStartedAt, d.s.ProgressAt = i+1, d.w.Now, d.w.Now
	}
}

// beforeCanary reports whether the BeforeCanary hooks all passed, starting
// them first. One that failed rolls the canary back.
func (d *decision) beforeCanary() bool {
	passed := true
	for i, h := range d.w.Spec.Strategy.Canary.Hooks {
		if h.On != rampv1.BeforeCanary {
			continue
		}
		name := d.w.RunName(LifecycleStep(h.On, i))
		run := d.runOf(name, StartRun{Name: name, Step: string(h.On), Hook: &rampv1.HookRunSpec{Webhook: h.Webhook, Job: h.Job}})
		switch run.Phase {
		case string(rampv1.HookSuccessful):
			continue
		case string(rampv1.HookFailed):
			d.abort("BeforeCanaryHookFailed", "BeforeCanary hook %d (%s) failed: %s", i, run.Target, run.Message)
			return false
		}
		passed = false
		d.plan.Waiting = fmt.Sprintf("BeforeCanary HookRun %s (%s)", name, run.Progress)
	}
	return passed
}

// runOf reads the named run, planning to start it when it does not exist
// yet: it then reads as starting.
func (d *decision) runOf(name string, start StartRun) RunView {
	if run, ok := d.w.Runs[name]; ok {
		return run
	}
	d.do(start)
	return RunView{Progress: "starting"}
}

// background keeps the background analysis running from its starting
// step, and rolls the canary back when it fails (or cannot tell: a
// background check that is inconclusive has not passed).
func (d *decision) background() {
	bg := d.w.Spec.Strategy.Canary.Analysis
	if bg == nil || d.s.Step < startingStep(d.w.Spec) {
		return
	}
	name := d.w.RunName(BackgroundStep)
	run := d.runOf(name, StartRun{Name: name, Step: BackgroundStep, Analysis: &bg.AnalysisStep, Background: true})
	switch run.Phase {
	case string(rampv1.AnalysisFailed), string(rampv1.AnalysisError):
		d.abort("AnalysisFailed", "background AnalysisRun %s failed: %s", name, run.Message)
	case string(rampv1.AnalysisInconclusive):
		d.abort("AnalysisInconclusive", "background AnalysisRun %s is inconclusive: %s", name, run.Message)
	}
}

// startingStep is the step index from which the background analysis
// runs: the configured one, else the step after the first setWeight, when
// the canary has pods and traffic to measure.
func startingStep(spec *rampv1.RolloutSpec) int {
	c := spec.Strategy.Canary
	if s := c.Analysis.StartingStep; s != nil {
		return int(*s)
	}
	for i, step := range c.Steps {
		if step.SetWeight != nil {
			return i + 1
		}
	}
	return 0
}

// stepDone reports whether step i has done its work, noting what it waits
// for and when to look again. A setWeight step first gets the canary the
// pods its weight needs, and only then (with a mesh router) the weight.
func (d *decision) stepDone(i int) bool {
	step := d.steps()[i]
	switch {
	case (step.Analysis != nil || step.Webhook != nil || step.Job != nil) && !d.canaryUp():
		// A check tests the canary as it stands: with (at least) the
		// pods its weight asks available (a blue/green preview: all of
		// them), not before.
		return false
	case step.Analysis != nil:
		return d.analysis(i, step.Analysis)
	case step.Webhook != nil || step.Job != nil:
		return d.hook(i, step)
	case step.SetWeight != nil:
		return d.setWeight(d.plan.Routes)
	case step.IsRoute():
		return d.setWeight(rampv1.RoutesAt(d.steps(), i))
	case step.Pause != nil:
		return d.pause(step.Pause)
	}
	return true
}

// analysis runs an analysis step: success goes on, failure rolls back, an
// inconclusive run waits for a person to promote or abort.
func (d *decision) analysis(i int, step *rampv1.AnalysisStep) bool {
	name := d.w.RunName("step-" + strconv.Itoa(i))
	run := d.runOf(name, StartRun{Name: name, Step: strconv.Itoa(i), Analysis: step})
	d.plan.VerdictWait = true
	switch run.Phase {
	case string(rampv1.AnalysisSuccessful):
		return true
	case string(rampv1.AnalysisFailed), string(rampv1.AnalysisError):
		d.abort("AnalysisFailed", "AnalysisRun %s failed: %s", name, run.Message)
	case string(rampv1.AnalysisInconclusive):
		d.plan.PauseStep = true
		d.plan.Waiting = fmt.Sprintf("a decision: AnalysisRun %s is inconclusive (%s); promote to go on or abort to roll back", name, run.Message)
	default:
		d.plan.Waiting = fmt.Sprintf("AnalysisRun %s (%s)", name, run.Progress)
	}
	return false
}

// hook runs a webhook or job step: success goes on, a failed test rolls
// back with the test's message.
func (d *decision) hook(i int, step rampv1.Step) bool {
	name := d.w.RunName("step-" + strconv.Itoa(i))
	run := d.runOf(name, StartRun{Name: name, Step: strconv.Itoa(i), Hook: &rampv1.HookRunSpec{Webhook: step.Webhook, Job: step.Job}, Weight: d.plan.Weight})
	d.plan.VerdictWait = true
	kind := "Webhook"
	if step.Job != nil {
		kind = "Job"
	}
	switch run.Phase {
	case string(rampv1.HookSuccessful):
		return true
	case string(rampv1.HookFailed):
		d.abort(kind+"Failed", "%s step %d (%s) failed: %s", kind, i, run.Target, run.Message)
	default:
		d.plan.Waiting = fmt.Sprintf("HookRun %s (%s)", name, run.Progress)
	}
	return false
}

// setWeight is done once the revisions run the pods the weight (and the
// routes) need and, with a mesh router, the weight and routes are written:
// for the canary's first requests, only once every proxy can know its
// pods. A route step asks the weight in force, with its routes.
func (d *decision) setWeight(routes []rampv1.Route) bool {
	w := d.plan.Weight
	if !d.podsFor(routes) {
		return false
	}
	if !d.w.Mesh {
		return true
	}
	if (w > 0 || len(routes) > 0) && d.written == 0 {
		if wait := d.endpoints(); wait != "" {
			d.plan.Waiting = wait
			return false
		}
	}
	d.do(Route{Target: traffic.Target{Stable: d.w.Stable.Hash, Canary: d.w.Canary.Hash, Weight: w, Routes: routes}})
	if d.w.Routing.Held {
		d.plan.Waiting = "the traffic of " + d.w.Routing.HeldBy + " to drain from the canary Service"
		return false
	}
	d.written = w
	return true
}

// podsFor reports whether the revisions run the pods the weight in force
// and routes need, noting what they wait for if not.
func (d *decision) podsFor(routes []rampv1.Route) bool {
	canary, stable := Pods(d.w.Pods, d.plan.Weight, routes)
	if !reached(d.w.Canary, canary, true) || !reached(d.w.Stable, stable, false) {
		d.plan.Waiting = fmt.Sprintf("pods: canary %d of %d available, stable %d pods going to %d",
			d.w.Canary.Available, canary, d.w.Stable.Pods, stable)
		return false
	}
	return true
}

// canaryUp reports whether the canary has at least the available pods its
// weight and routes ask, noting what it waits for if not. At least: a
// canary already scaled up for its promotion (a pass that read an older
// status) is up, and must not be taken back down.
func (d *decision) canaryUp() bool {
	canary, _ := Pods(d.w.Pods, d.plan.Weight, d.plan.Serving)
	if d.w.Canary.Available < canary {
		d.plan.Waiting = fmt.Sprintf("pods: canary %d of %d available", d.w.Canary.Available, canary)
		return false
	}
	return true
}

// endpoints says what a canary about to get its first share of traffic
// still waits for: the canary Service (or subset) selecting its pods,
// available, for endpointPropagationSeconds. Empty: nothing.
func (d *decision) endpoints() string {
	r := d.w.Routing
	if !r.Served {
		d.do(SetServedAt{})
		d.servedAt = nil
		return fmt.Sprintf("the canary Service to select revision %d's available pods", d.w.Canary.Number)
	}
	if d.servedAt == nil {
		d.servedAt = ptr.To(d.w.Now)
		d.do(SetServedAt{At: d.servedAt})
	}
	until := d.servedAt.Add(r.Propagation)
	if d.w.Now.Before(until) {
		d.requeueAfter(until.Sub(d.w.Now))
		return "every proxy to know the canary's pods (endpointPropagationSeconds, until " + until.UTC().Format(time.RFC3339) + ")"
	}
	return ""
}

// pause waits for its duration, counted from the step's start, or without
// one for a person to promote.
func (d *decision) pause(p *rampv1.PauseStep) bool {
	if p.Duration == nil {
		d.plan.PauseStep = true
		d.plan.Waiting = "promotion (pause step)"
		return false
	}
	end := d.s.StepStartedAt.Add(p.Duration.Duration)
	if d.w.Now.Before(end) {
		d.plan.PausedUntil = &end
		d.plan.Waiting = "pause until " + end.UTC().Format(time.RFC3339)
		d.requeueAfter(end.Sub(d.w.Now))
		return false
	}
	return true
}

// approximation tells when the weight a step reached is not the one it
// asked: 4 pods cannot carry 1%. A mesh router carries any weight.
func (d *decision) approximation() {
	if d.w.Mesh {
		return
	}
	asked := d.plan.Weight
	reached := traffic.PodShare(traffic.Pods{Stable: d.w.Stable.Available, Canary: d.w.Canary.Available})
	if reached != asked {
		d.do(Approximated{Asked: asked, Reached: reached, CanaryPods: d.w.Canary.Available, StablePods: d.w.Stable.Available})
	}
}

// promote promotes the canary once all steps passed. With a mesh router
// the canary first scales to full; then the stable Service (or subset) is
// pointed at it before the weights return to 100% stable, so traffic never
// meets a revision without the pods for it.
func (d *decision) promote() {
	if d.w.Mesh {
		if !d.w.Replaces && !reached(d.w.Canary, d.w.Replicas, true) {
			d.plan.Promoting = true
			d.plan.Waiting = fmt.Sprintf("the canary at full scale before promotion: %d of %d available",
				d.w.Canary.Available, d.w.Replicas)
			d.checkDeadline()
			return
		}
		d.do(Route{Target: traffic.Target{Stable: d.w.Canary.Hash, Canary: d.w.Canary.Hash}})
		if d.w.Routing.Held {
			d.plan.Promoting = true
			d.plan.Waiting = "the traffic of " + d.w.Routing.HeldBy + " to drain from the canary Service before promotion"
			return
		}
	}
	d.do(Promote{})
}

// checkDeadline rolls the canary back when its pods have made no progress
// for progressDeadlineSeconds.
func (d *decision) checkDeadline() {
	if d.plan.PauseStep || d.plan.PausedUntil != nil || d.plan.VerdictWait || d.aborted {
		return
	}
	deadline := time.Duration(ptr.Deref(d.w.Spec.ProgressDeadlineSeconds, 600)) * time.Second
	if d.w.Now.Sub(d.s.ProgressAt) >= deadline {
		d.abort("ProgressDeadlineExceeded", "no progress for %s while waiting for %s", deadline, d.plan.Waiting)
		return
	}
	d.requeueAfter(d.s.ProgressAt.Add(deadline).Sub(d.w.Now))
}

// reached reports whether a revision runs exactly want pods, all available
// when they must serve.
func reached(rev RevisionView, want int32, mustBeAvailable bool) bool {
	if rev.Replicas != want || !rev.Settled {
		return false
	}
	return !mustBeAvailable || rev.Available >= want
}
