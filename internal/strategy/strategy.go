// Package strategy decides what one reconcile pass does to a Rollout's new
// revision, from what the pass observed: pure functions of a World to a
// Plan, with no I/O, tested with tables and no cluster. The Rollout
// reconciler gathers the World, asks the strategy, and carries the Plan
// out, in that order: every read before the decision, every write after
// it. The progressive canary (Canary) is one strategy; another, such as
// blue/green, is another implementation of Strategy.
package strategy

import (
	"strconv"
	"strings"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Strategy decides what one pass does.
type Strategy interface {
	Decide(w World) Plan
}

// BackgroundStep is the step name (RunName, the runs' LabelRunStep) of the
// background analysis.
const BackgroundStep = "background"

// LifecycleStep is the step name (RunName) of the canary's hook i, for
// event: "before-canary-0".
func LifecycleStep(event rampv1.HookEvent, i int) string {
	return kebab(string(event)) + "-" + strconv.Itoa(i)
}

// kebab writes a CamelCase word in kebab case: BeforeCanary, before-canary.
func kebab(s string) string {
	var b strings.Builder
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// World is what a pass observed of a canary, for its strategy.
type World struct {
	Now time.Time
	// Spec is the Rollout's spec, read only.
	Spec *rampv1.RolloutSpec
	// Status is the part of the Rollout's status the steps move.
	Status StepStatus
	// Mesh is true with a router that shapes traffic with weights.
	Mesh bool
	// Replaces: the canary's pods replace stable ones (a StatefulSet run
	// in place), so it cannot grow to full scale beside them; a mesh
	// promotion moves the stable side to its pods as they are.
	Replaces bool
	// Replicas is spec.replicas; Pods gives the pods each revision runs
	// for a canary weight (the router's Replicas).
	Replicas int32
	Pods     func(rampv1.Weight) (canary, stable int32)
	// Canary and Stable are the two revisions' ReplicaSets.
	Canary, Stable RevisionView
	// Routing is what the routing objects hold (mesh routers).
	Routing RoutingView
	// Runs are the AnalysisRuns and HookRuns of this canary attempt, by
	// name; RunName names them.
	Runs    map[string]RunView
	RunName func(step string) string
}

// StepStatus is where the canary stands, from status.
type StepStatus struct {
	// Step is status.currentStepIndex: len(steps) once all passed.
	Step int
	// StepStartedAt and ProgressAt are the step's start and the canary's
	// last progress; PausedAt, when spec.paused stopped the clocks.
	StepStartedAt, ProgressAt time.Time
	PausedAt                  *time.Time
	// Asked is the weight the last pass asked.
	Asked rampv1.Weight
}

// RevisionView is what the strategy reads of a revision's ReplicaSet.
type RevisionView struct {
	Hash                      string
	Number                    int64
	Replicas, Pods, Available int32
	// Settled: its controller saw the last change and runs the pods asked.
	Settled bool
}

// RoutingView is what a mesh router's objects hold, for the steps.
type RoutingView struct {
	// Written is the weight Ramp last wrote for this canary.
	Written rampv1.Weight
	// Held is true while the canary side may not move to this canary's
	// revision (HeldBy drains, or carries traffic): its weight stays 0.
	Held   bool
	HeldBy string
	// Served is true once the canary Service selects the canary's pods;
	// ServedAt is status.routing.canaryServedAt, and Propagation
	// endpointPropagationSeconds.
	Served      bool
	ServedAt    *time.Time
	Propagation time.Duration
	// Promoted: the routing objects record this canary's promotion, written
	// by a pass whose status write was lost: its steps all passed.
	Promoted bool
}

// RunView is what the strategy reads of an AnalysisRun or a HookRun.
type RunView struct {
	// Phase is the run's phase ("" while it starts).
	Phase string
	// Message is its verdict's; Progress, what it is doing, for people;
	// Target, what a HookRun calls.
	Message, Progress, Target string
}

// Plan is what a pass does, in order, and what it then waits for.
type Plan struct {
	Actions []Action
	// Weight is the canary weight the current step asks.
	Weight rampv1.Weight
	// Routes are the header, cookie and mirror routes of the steps passed:
	// they send their requests to the canary whatever the weight. Serving
	// are those the canary's pods are sized for: the current step's, or
	// while it removes them, those it removes.
	Routes, Serving []rampv1.Route
	// Waiting says what the canary waits for, for status.
	Waiting string
	// PauseStep: an untimed pause or an inconclusive analysis waits for a
	// person; VerdictWait: a step waits for a verdict (the progress
	// deadline is about pods); PausedUntil: a timed pause's end;
	// Promoting: all steps passed and the canary is being promoted.
	PauseStep, VerdictWait, Promoting bool
	PausedUntil                       *time.Time
	// Requeue is when to look again if nothing happens first (0: never).
	Requeue time.Duration
}

// Action is one thing a Plan does. Its kinds are the types below.
type Action interface{ isAction() }

// StartRun creates the AnalysisRun (Analysis set) or the HookRun (Hook
// set) named Name, for Step, if it does not exist yet.
type StartRun struct {
	Name, Step string
	Analysis   *rampv1.AnalysisStep
	Background bool
	Hook       *rampv1.HookRunSpec
	// Weight is what a HookRun is told the canary's weight is.
	Weight rampv1.Weight
}

// Route writes the routing objects' target.
type Route struct{ Target traffic.Target }

// SetServedAt records (or, nil, forgets) when the canary's pods were
// first seen behind the canary Service.
type SetServedAt struct{ At *time.Time }

// StopClocks records that spec.paused stopped the canary's clocks now;
// ResumeClocks moves them forward by the time they were stopped.
type (
	StopClocks   struct{}
	ResumeClocks struct{}
)

// Approximated tells that a step's weight was reached only roughly, as pod
// counts allow.
type Approximated struct {
	Asked, Reached         rampv1.Weight
	CanaryPods, StablePods int32
}

// EndStep ends the current step with outcome and starts the next.
type EndStep struct {
	Outcome rampv1.StepOutcome
	Why     string
}

// Abort rolls the canary back.
type Abort struct{ Reason, Message string }

// Promote makes the canary stable, after starting its AfterPromotion
// hooks.
type Promote struct{}

func (StartRun) isAction() {}
func (Route) isAction()    {}

// Pods is how many pods each revision runs at canary weight w with routes
// in force: the router's count (pods), and at least one canary pod while a
// route sends it requests.
func Pods(pods func(rampv1.Weight) (int32, int32), w rampv1.Weight, routes []rampv1.Route) (canary, stable int32) {
	canary, stable = pods(w)
	if len(routes) > 0 {
		canary = max(canary, 1)
	}
	return canary, stable
}
func (SetServedAt) isAction()  {}
func (StopClocks) isAction()   {}
func (ResumeClocks) isAction() {}
func (Approximated) isAction() {}
func (EndStep) isAction()      {}
func (Abort) isAction()        {}
func (Promote) isAction()      {}
