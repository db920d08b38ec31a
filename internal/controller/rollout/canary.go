package rollout

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// mode is what the Rollout is doing in this pass.
type mode int

const (
	// modeStable: no canary; the stable revision runs at full scale.
	modeStable mode = iota
	// modeCanary: a canary is going through its steps.
	modeCanary
	// modeAborted: the canary was rolled back and stays so until a retry
	// or a new revision.
	modeAborted
)

// rolloutState is the picture of one Rollout that a pass builds from the
// cluster, and the decisions it takes. Nothing in it outlives the pass.
type rolloutState struct {
	ro     *rampv1.Rollout
	news   *news // what the pass has to tell (see news)
	now    time.Time
	router traffic.Router
	budget budget

	revs    []*revision
	current *revision // runs the Rollout's current pod template
	stable  *revision // the last promoted revision
	canary  *revision // the revision in its canary steps, if any

	mode mode
	// mesh: the router shapes traffic with weights, not pods.
	mesh bool
	// weight is the canary weight asked by the current step.
	weight rampv1.Weight
	// reached is the weight the canary receives: read from the routing
	// objects at the start of the pass, then what this pass wrote.
	reached rampv1.Weight
	// written is the weight Ramp last wrote for this canary (see
	// observeRouting): a weight holds there until the pods for a higher
	// one are ready.
	written rampv1.Weight
	// drifted: the routing objects did not hold what the last pass wrote.
	drifted bool
	// reading is what the router read back at the start of the pass.
	reading traffic.Reading
	// routedCanary is the revision the canary side of the routing objects
	// selects: as read, then as this pass wrote it.
	routedCanary string
	// draining is the revision whose traffic drains (see propagation.go),
	// and drainSince when its weight went to 0.
	draining   string
	drainSince time.Time
	// atRest: the routing objects are at rest (no canary, nothing left of
	// the last one).
	atRest bool
	// routed: this pass already wrote the routing objects.
	routed bool
	// promoting: all steps passed and the canary scales to full before a
	// mesh router moves traffic to it.
	promoting bool
	// abortedAt is when this pass decided a rollback (real time, for
	// RollbackRouteSeconds).
	abortedAt time.Time
	// started is set when this pass started a canary.
	started time.Time
	// waiting says what the current step waits for, for status.
	waiting string
	// pausedUntil is set while a timed pause step runs.
	pausedUntil *time.Time
	// pauseStep is true while an untimed pause step (or an inconclusive
	// analysis) waits for promotion.
	pauseStep bool
	// verdictWait is true while the step waits for an analysis or a test:
	// the progress deadline is about pods, not verdicts.
	verdictWait bool

	targets     []scaleTarget
	scaleDownAt map[string]time.Time // new scale-down times of old revisions
	requeue     time.Duration        // 0: no timer needed
}

func (st *rolloutState) requeueAfter(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if st.requeue == 0 || d < st.requeue {
		st.requeue = d
	}
}

func (st *rolloutState) steps() []rampv1.Step { return st.ro.Spec.Strategy.Canary.Steps }

// trackRevisions decides which revision is stable and which is the canary,
// and starts a new canary when the template changed.
func (r *Reconciler) trackRevisions(st *rolloutState) {
	s := &st.ro.Status
	st.stable = findRevision(st.revs, s.StableRevision)
	if st.stable == nil {
		// The first revision (or a stable ReplicaSet deleted by hand):
		// there is nothing to compare with, so it is stable at once.
		st.stable = st.current
		if s.StableRevision != "" {
			st.news.decided(corev1.EventTypeWarning, "StableRevisionMissing", "Recover",
				"ReplicaSet of stable revision %s is gone; revision %d becomes stable", s.StableRevision, st.current.number)
		}
		s.StableRevision = st.current.hash
	}
	if st.current == st.stable {
		if s.CanaryRevision != "" {
			st.news.decided(corev1.EventTypeNormal, "CanaryReverted", "Rollback",
				"Pod template is back to the stable revision %d: canary %s rolled back without steps", st.stable.number, s.CanaryRevision)
			endStep(s, st.now, rampv1.StepRolledBack)
		}
		clearCanary(s)
		s.Abort = nil
		st.mode = modeStable
		return
	}
	st.canary = st.current
	if s.CanaryRevision != st.canary.hash {
		if s.CanaryRevision != "" {
			st.news.decided(corev1.EventTypeNormal, "CanaryReplaced", "Restart",
				"New pod template: unfinished canary %s dropped; canary of revision %d starts at step 1", s.CanaryRevision, st.canary.number)
		} else {
			st.news.decided(corev1.EventTypeNormal, "CanaryStarted", "Start",
				"Canary of revision %d (%s) starts; stable is revision %d", st.canary.number, st.canary.hash, st.stable.number)
		}
		startCanary(s, st.canary.hash, st.now)
		st.started = st.now
	}
	st.mode = modeCanary
	if s.Abort != nil && s.Abort.Revision == st.canary.hash {
		st.mode = modeAborted
	}
}

func startCanary(s *rampv1.RolloutStatus, hash string, now time.Time) {
	if s.CanaryRevision == hash {
		s.CanaryAttempt++ // a retry
	} else {
		s.CanaryAttempt = 1
	}
	s.CanaryRevision = hash
	s.CurrentStepIndex = ptr.To[int32](0)
	s.StepStartedAt = ptr.To(metav1.NewMicroTime(now))
	s.ProgressAt = ptr.To(metav1.NewMicroTime(now))
	s.Abort = nil
	s.Weight = rampv1.WeightStatus{} // a new canary starts with no traffic
	s.Routing = nil                  // its pods count as served from when they are seen again
	s.PausedAt = nil
	s.StepHistory = nil
	beginStep(s, 0, now)
}

// resumeClocks moves the step's clocks forward by the time spec.paused
// held them.
func resumeClocks(s *rampv1.RolloutStatus, now time.Time) {
	if s.PausedAt == nil {
		return
	}
	held := now.Sub(s.PausedAt.Time)
	for _, t := range []*metav1.MicroTime{s.StepStartedAt, s.ProgressAt} {
		if t != nil {
			t.Time = t.Add(held)
		}
	}
	s.PausedAt = nil
}

func clearCanary(s *rampv1.RolloutStatus) {
	s.CanaryRevision = ""
	s.CanaryAttempt = 0
	s.CurrentStepIndex = nil
	s.StepStartedAt = nil
	s.ProgressAt = nil
	s.PausedAt = nil
}

// nextStep moves the canary to its next step.
func (r *Reconciler) nextStep(st *rolloutState, outcome rampv1.StepOutcome, why string) {
	s := &st.ro.Status
	i := *s.CurrentStepIndex
	endStep(s, st.now, outcome)
	if int(i+1) < len(st.steps()) {
		beginStep(s, i+1, st.now)
	}
	if s.StepStartedAt != nil {
		stepSeconds.WithLabelValues(stepKind(st.steps()[i])).Observe(st.now.Sub(s.StepStartedAt.Time).Seconds())
	}
	s.CurrentStepIndex = ptr.To(i + 1)
	s.StepStartedAt = ptr.To(metav1.NewMicroTime(st.now))
	s.ProgressAt = ptr.To(*s.StepStartedAt) // a copy: resumeClocks moves each
	st.news.decided(corev1.EventTypeNormal, "StepCompleted", "Step",
		"Step %d/%d (%s) %s", i+1, len(st.steps()), st.steps()[i].Summary(), why)
}

// abort rolls the canary back: its weight goes to 0 and its pods away.
func (r *Reconciler) abort(st *rolloutState, reason, message string) {
	st.ro.Status.Abort = &rampv1.AbortStatus{
		Revision: st.canary.hash, Reason: reason, Message: message, At: metav1.NewMicroTime(st.now),
	}
	endStep(&st.ro.Status, st.now, rampv1.StepRolledBack)
	st.mode = modeAborted
	// A write this pass made for the canary's step is not the rollback's:
	// the weight 0 must still be written, before any pod goes.
	st.routed = false
	st.abortedAt = time.Now()
	rollbacks.WithLabelValues(reason).Inc()
	st.news.decided(corev1.EventTypeWarning, reason, "Rollback",
		"Canary of revision %d rolled back: %s", st.canary.number, message)
}

// runSteps runs the canary's steps from the current one, as far as they
// complete in this pass, and promotes the canary after the last.
func (r *Reconciler) runSteps(ctx context.Context, st *rolloutState) error {
	if st.mode != modeCanary {
		return nil
	}
	s := &st.ro.Status
	steps := st.steps()
	for {
		i := int(*s.CurrentStepIndex)
		if st.ro.Spec.Paused {
			// Nothing moves while paused, not even to a step a promotion
			// reached: the weight stays what was last asked, and the
			// clocks stop.
			st.weight = s.Weight.Asked
			st.waiting = "resume (spec.paused is true)"
			if s.PausedAt == nil {
				s.PausedAt = ptr.To(metav1.NewMicroTime(st.now))
			}
			return nil
		}
		resumeClocks(s, st.now)
		if i >= len(steps) {
			// Traffic stays where the last step left it until the
			// promotion moves it.
			st.weight = rampv1.WeightAt(steps, len(steps)-1)
			return r.promoteWhenReady(ctx, st)
		}
		st.weight = rampv1.WeightAt(steps, i)
		if i == 0 {
			passed, err := r.beforeCanary(ctx, st)
			if err != nil || !passed {
				// The canary gets no traffic until its BeforeCanary
				// hooks pass.
				st.weight, st.verdictWait = 0, true
				return err
			}
		}
		if err := r.backgroundAnalysis(ctx, st); err != nil || st.mode != modeCanary {
			return err
		}
		done, err := r.stepDone(ctx, st, i)
		if err != nil {
			return err
		}
		if !done {
			r.checkDeadline(st)
			return nil
		}
		if steps[i].SetWeight != nil {
			if err := r.warnApproximation(ctx, st); err != nil {
				return err
			}
		}
		r.nextStep(st, rampv1.StepPassed, "done")
	}
}

// warnApproximation tells when the weight a step reached is not the one it
// asked: 4 pods cannot carry 1%.
func (r *Reconciler) warnApproximation(ctx context.Context, st *rolloutState) error {
	reached, err := r.reachedWeight(ctx, st)
	if err != nil {
		return err
	}
	if reached != st.weight {
		st.news.decided(corev1.EventTypeWarning, "WeightApproximated", "SetWeight",
			"Asked %s%% for the canary; %d canary and %d stable pods give it %s%%",
			st.weight, st.canary.available(), st.stable.available(), reached)
	}
	return nil
}

// stepDone reports whether step has done its work, noting what it waits
// for and when to look again. A setWeight step first gets the canary the
// pods its weight needs, and only then (with a mesh router) the weight.
func (r *Reconciler) stepDone(ctx context.Context, st *rolloutState, i int) (bool, error) {
	step := st.steps()[i]
	switch {
	case step.Analysis != nil:
		return r.stepAnalysis(ctx, st, i, step.Analysis)
	case step.Webhook != nil || step.Job != nil:
		return r.stepHook(ctx, st, i, step)
	case step.SetWeight != nil:
		canary, stable := st.router.Replicas(st.budget.replicas, st.weight)
		if !reached(st.canary, canary, true) || !reached(st.stable, stable, false) {
			st.waiting = fmt.Sprintf("pods: canary %d of %d available, stable %d pods going to %d",
				st.canary.available(), canary, st.stable.pods(), stable)
			return false, nil
		}
		if st.mesh {
			if st.weight > 0 && st.written == 0 {
				// The canary's first share of traffic: only once every
				// proxy can know its pods.
				if wait := r.awaitEndpoints(st); wait != "" {
					st.waiting = wait
					return false, nil
				}
			}
			held, err := r.route(ctx, st, traffic.Target{Stable: st.stable.hash, Canary: st.canary.hash, Weight: st.weight})
			st.routed = true
			if held {
				st.waiting = "the traffic of " + revisionLabel(st, st.routedCanary) + " to drain from the canary Service"
			}
			return err == nil && !held, err
		}
		return true, nil
	case step.Pause != nil:
		if step.Pause.Duration == nil {
			st.pauseStep = true
			st.waiting = "promotion (pause step)"
			return false, nil
		}
		end := st.ro.Status.StepStartedAt.Add(step.Pause.Duration.Duration)
		if st.now.Before(end) {
			st.pausedUntil = &end
			st.waiting = "pause until " + end.UTC().Format(time.RFC3339)
			st.requeueAfter(end.Sub(st.now))
			return false, nil
		}
		return true, nil
	}
	return true, nil
}

// promoteWhenReady promotes the canary once all steps passed. With a mesh
// router the canary first scales to full; then the stable Service (or
// subset) is pointed at it before the weights return to 100% stable, so
// traffic never meets a revision without the pods for it.
func (r *Reconciler) promoteWhenReady(ctx context.Context, st *rolloutState) error {
	if st.mesh {
		if !reached(st.canary, st.budget.replicas, true) {
			st.promoting = true
			st.waiting = fmt.Sprintf("the canary at full scale before promotion: %d of %d available",
				st.canary.available(), st.budget.replicas)
			r.checkDeadline(st)
			return nil
		}
		held, err := r.route(ctx, st, traffic.Target{Stable: st.canary.hash, Canary: st.canary.hash})
		st.routed = true
		if err != nil {
			return err
		}
		if held {
			st.promoting = true
			st.waiting = "the traffic of " + revisionLabel(st, st.routedCanary) + " to drain from the canary Service before promotion"
			return nil
		}
	}
	// The AfterPromotion hooks' runs exist before the promotion is
	// recorded, so that a pass interrupted in between starts them anyway.
	if err := r.startHooks(ctx, st, rampv1.AfterPromotion); err != nil {
		return err
	}
	r.promote(st)
	return nil
}

// reached reports whether a revision runs exactly want pods, all available
// when they must serve.
func reached(rev *revision, want int32, mustBeAvailable bool) bool {
	if rev.replicas() != want || !rev.settled() {
		return false
	}
	return !mustBeAvailable || rev.available() >= want
}

// checkDeadline rolls the canary back when its pods have made no progress
// for progressDeadlineSeconds.
func (r *Reconciler) checkDeadline(st *rolloutState) {
	if st.pauseStep || st.pausedUntil != nil || st.verdictWait || st.mode != modeCanary {
		return
	}
	s := &st.ro.Status
	deadline := time.Duration(ptr.Deref(st.ro.Spec.ProgressDeadlineSeconds, 600)) * time.Second
	since := s.ProgressAt.Time
	if st.now.Sub(since) >= deadline {
		r.abort(st, "ProgressDeadlineExceeded", fmt.Sprintf(
			"no progress for %s while waiting for %s", deadline, st.waiting))
		return
	}
	st.requeueAfter(since.Add(deadline).Sub(st.now))
}

// promote makes the canary the stable revision. The old stable revision
// keeps its pods for scaleDownDelaySeconds.
func (r *Reconciler) promote(st *rolloutState) {
	s := &st.ro.Status
	old := st.stable
	s.StableRevision = st.canary.hash
	clearCanary(s)
	st.stable, st.canary = st.current, nil
	st.mode = modeStable
	st.weight, st.reached, st.promoting = 0, 0, false
	st.news.decided(corev1.EventTypeNormal, "Promoted", "Promote",
		"Revision %d promoted to stable; revision %d scales down after %ds", st.stable.number, old.number,
		ptr.Deref(st.ro.Spec.Strategy.Canary.ScaleDownDelaySeconds, 30))
}
