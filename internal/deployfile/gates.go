package deployfile

import (
	"fmt"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Gate is one step of a target's beforeDeployment or afterDeployment
// constraints. Exactly one of Pause, Hook and Analysis is set. The
// deploying client runs it: it waits out a pause itself, and creates a
// HookRun or an AnalysisRun that the controller carries out, so retries,
// callbacks and measurements live in the cluster as they do for steps.
type Gate struct {
	// Field names the gate in the deploy file, for messages.
	Field string
	Pause time.Duration
	Hook  *rampv1.HookRunSpec
	// Analysis is the run's spec but its context, which names the
	// target's rollout as it stands when the gate runs.
	Analysis *rampv1.AnalysisRunSpec
}

// Hook events of gates, as a HookRun's context.step.
const (
	BeforeDeployment = "BeforeDeployment"
	AfterDeployment  = "AfterDeployment"
)

// gates translates a target's beforeDeployment and afterDeployment.
func (t *translator) gates(field, target string, tg Target, tp *TargetPlan) {
	c := tg.Constraints
	if c == nil {
		return
	}
	// A gate's templates render against the target's first rollout, if any.
	ro := &rampv1.Rollout{}
	ro.Namespace = tg.Namespace
	if len(tp.Rollouts) > 0 {
		ro.Name = tp.Rollouts[0].Name
	}
	scope := t.scope(target, tg)
	for i, s := range c.BeforeDeployment {
		if g, ok := t.gate(fmt.Sprintf("%s.beforeDeployment[%d]", field, i), BeforeDeployment, s, ro, scope); ok {
			tp.Before = append(tp.Before, g)
		}
	}
	for i, s := range c.AfterDeployment {
		if g, ok := t.gate(fmt.Sprintf("%s.afterDeployment[%d]", field, i), AfterDeployment, s, ro, scope); ok {
			tp.After = append(tp.After, g)
		}
	}
}

// gate translates one constraint step: the kinds of step it may be depend
// on when it runs, as in CD-as-a-Service.
func (t *translator) gate(field, event string, s Step, ro *rampv1.Rollout, scope varScope) (Gate, bool) {
	switch {
	case s.SetWeight != nil || s.ExposeServices != nil:
		t.fail(field, "a constraint is a pause, a runWebhook or (afterDeployment) an analysis")
		return Gate{}, false
	case s.Analysis != nil && event == BeforeDeployment:
		t.fail(field+".analysis", "beforeDeployment has no new version to analyse: put the analysis in afterDeployment or in the strategy's steps")
		return Gate{}, false
	case s.Pause != nil && s.Pause.UntilApproved:
		t.fail(field+".pause.untilApproved", "not supported in constraints: make `pause: {untilApproved: true}` the first step of the target's strategy (approved with ramp promote), or gate the pipeline")
		return Gate{}, false
	}
	n := len(t.errs)
	step, tmpl := t.step(field, s, ro, 0, scope)
	if len(t.errs) > n {
		return Gate{}, false
	}
	g := Gate{Field: field}
	switch {
	case step.Pause != nil:
		g.Pause = step.Pause.Duration.Duration
	case step.Webhook != nil:
		g.Hook = &rampv1.HookRunSpec{Webhook: step.Webhook, Context: rampv1.HookContext{Step: event}}
	case tmpl != nil:
		g.Analysis = &rampv1.AnalysisRunSpec{Metrics: tmpl.Spec.Metrics, Args: tmpl.Spec.Args}
	}
	return g, true
}
