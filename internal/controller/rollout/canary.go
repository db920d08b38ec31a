package rollout

import (
	appsv1 "k8s.io/api/apps/v1"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/strategy"
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
	wall   time.Time // the real time at the pass's start, for intervals within it
	router traffic.Router
	budget budget

	revs    []*revision
	current *revision // runs the Rollout's current pod template
	stable  *revision // the last promoted revision
	canary  *revision // the revision in its canary steps, if any

	mode mode
	// mesh: the router shapes traffic with weights, not pods.
	mesh bool
	// workload is the Deployment the Rollout adopted, if any; inPlace the
	// one it runs in place (inplace.go).
	workload, inPlace *appsv1.Deployment
	// statefulSet is the StatefulSet it runs in place (statefulset.go).
	statefulSet *statefulSet
	// weight is the canary weight asked by the current step.
	weight rampv1.Weight
	// reached is the weight the canary receives: read from the routing
	// objects at the start of the pass, then what this pass wrote; routes,
	// the header, cookie and mirror routes that send it requests besides.
	reached rampv1.Weight
	routes  int
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
	// abortedAt is when this pass decided a rollback (real time, for
	// RollbackRouteSeconds).
	abortedAt time.Time
	// started is set when this pass started a canary.
	started time.Time
	// held: the preflight holds the canary (see preflight).
	held bool

	// plan is what the canary's strategy decided in this pass, and what it
	// waits for (status reads it).
	plan strategy.Plan

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

// pods returns the pod count of each revision for weight w. A
// StatefulSet's canary pods replace stable ones; through a mesh, one
// stable pod at least stays, for the stable side's traffic.
func (st *rolloutState) pods(w rampv1.Weight) (canary, stable int32) {
	n := st.budget.replicas
	canary, stable = st.router.Replicas(n, w)
	if st.statefulSet != nil {
		if st.mesh {
			canary = min(canary, n-1)
		}
		stable = n - canary
	}
	return canary, stable
}

// trackRevisions decides which revision is stable and which is the canary,
// and starts a new canary when the template changed.
func (r *Reconciler) trackRevisions(st *rolloutState) {
	s := &st.ro.Status
	if st.stable == nil { // else run in place: see workloadRevision
		st.stable = findRevision(st.revs, s.StableRevision)
	}
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

// promote makes the canary the stable revision. The old stable revision
// keeps its pods for scaleDownDelaySeconds.
func (r *Reconciler) promote(st *rolloutState) {
	s := &st.ro.Status
	old := st.stable
	s.StableRevision = st.canary.hash
	clearCanary(s)
	st.stable, st.canary = st.current, nil
	st.mode = modeStable
	if st.inPlace != nil || st.statefulSet != nil {
		// The workload rolls the template out once the proxies have left
		// its old pods (holdWorkload, pace).
		if s.Workload == nil {
			s.Workload = &rampv1.WorkloadStatus{}
		}
		s.Workload.PromotedAt = ptr.To(metav1.NewMicroTime(st.now))
	}
	st.weight, st.reached, st.plan.Promoting = 0, 0, false
	st.news.decided(corev1.EventTypeNormal, "Promoted", "Promote",
		"Revision %d promoted to stable; revision %d scales down after %ds", st.stable.number, old.number,
		ptr.Deref(st.ro.Spec.Strategy.Canary.ScaleDownDelaySeconds, 30))
}
