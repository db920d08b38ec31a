package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Phase summarises a Rollout for people; it is derived from the conditions.
// +kubebuilder:validation:Enum=Progressing;Paused;Healthy;Degraded
type Phase string

// Phases.
const (
	// PhaseProgressing: a new version is being rolled out or scaled.
	PhaseProgressing Phase = "Progressing"
	// PhasePaused: the canary waits for a promotion, a pause's end, or a resume.
	PhasePaused Phase = "Paused"
	// PhaseHealthy: the stable version runs at full scale and no canary is in flight.
	PhaseHealthy Phase = "Healthy"
	// PhaseDegraded: the last canary was rolled back (aborted, failed, or out of time).
	PhaseDegraded Phase = "Degraded"
)

// Condition types.
const (
	// ConditionReady is True when the stable version is fully available and
	// no canary is in flight.
	ConditionReady = "Ready"
	// ConditionProgressing is True while a canary or a scale change moves.
	ConditionProgressing = "Progressing"
	// ConditionPaused is True while the canary is held by a pause step or by
	// spec.paused.
	ConditionPaused = "Paused"
	// ConditionDegraded is True when the current revision was rolled back.
	ConditionDegraded = "Degraded"

	// ConditionReconciling is True while the Rollout moves towards its
	// spec: a canary in flight (paused or not), a scale change, the
	// routing going back to rest. It and ConditionStalled follow the
	// kstatus conventions that Flux, kstatus and `kubectl wait` read.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the Rollout cannot reach its spec
	// without someone: its canary was rolled back, or the spec or what it
	// names is at fault. The reason and message say what to do.
	ConditionStalled = "Stalled"
	// ConditionWorkloadPaused is True while Ramp holds the rollout of a
	// Deployment run in place (spec.workloadRef.mode InPlace) at a template
	// it has not promoted; after a rollback its message says how to go on.
	ConditionWorkloadPaused = "WorkloadPaused"
)

// FinalizerCleanup holds a deleted Rollout until Ramp has handed its
// workload and routing back (docs/workloads.md).
const FinalizerCleanup = "ramp.dev/cleanup"

// Control annotations: the requests a user (or `ramp`) makes of a Rollout.
// Each holds a token, any string unique per request (the CLI writes a
// timestamp); the controller acts once per new token and records it in
// status.handled, so writing the same request twice does nothing more.
const (
	// AnnotationPromote ends the current step and goes to the next one.
	AnnotationPromote = "ramp.dev/promote"
	// AnnotationPromoteFull skips every remaining step and promotes the canary.
	AnnotationPromoteFull = "ramp.dev/promote-full"
	// AnnotationAbort rolls the canary back at once.
	AnnotationAbort = "ramp.dev/abort"
	// AnnotationRetry starts an aborted canary again from its first step.
	AnnotationRetry = "ramp.dev/retry"
)

// Labels and annotations Ramp puts on what it owns.
const (
	// LabelRevision carries the pod-template hash of a revision, on its
	// ReplicaSet and pods.
	LabelRevision = "ramp.dev/revision"
	// LabelRollout, on the objects Ramp creates for a Rollout (its
	// AnalysisRuns, HookRuns, Services and routing objects, a test Job's
	// pods), names the Rollout.
	LabelRollout = "ramp.dev/rollout"
	// LabelManagedBy, the label Kubernetes recommends, is set to ManagedBy
	// on every object Ramp creates, beside LabelRollout and an owner
	// reference, so that GitOps tools and people tell them from what they
	// apply themselves.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is LabelManagedBy's value.
	ManagedBy = "ramp"
	// LabelRunStep, on an AnalysisRun or a HookRun, names what it runs for:
	// "step-2", "background", a lifecycle event, "Notification".
	LabelRunStep = "ramp.dev/analysis"
	// AnnotationScaleDownAt, on an old ReplicaSet, is when it may be scaled
	// to zero (RFC 3339).
	AnnotationScaleDownAt = "ramp.dev/scale-down-at"
	// AnnotationRevisionNumber, on a ReplicaSet, is the Rollout revision
	// number it was created as (1, 2, ...).
	AnnotationRevisionNumber = "ramp.dev/revision-number"
	// AnnotationTemplateDigest, on a ReplicaSet, is the SHA-256 of the pod
	// template it was created from; it tells a hash collision from a match.
	AnnotationTemplateDigest = "ramp.dev/template-digest"
	// AnnotationAdoptedAt, on a ReplicaSet a Rollout took over from
	// another controller, is when it did (RFC 3339).
	AnnotationAdoptedAt = "ramp.dev/adopted-at"
	// AnnotationReleasedAt, on a Rollout being deleted that adopted a
	// Deployment, is when its routing was given back (RFC 3339).
	AnnotationReleasedAt = "ramp.dev/released-at"
	// AnnotationReturnedAt, on a Rollout being deleted that runs its
	// Deployment in place, is when its routing sent all traffic back to
	// the Deployment's pods (RFC 3339).
	AnnotationReturnedAt = "ramp.dev/returned-at"
	// AnnotationRemovedAt, on such a Rollout, is when its pods were
	// scaled to zero, all traffic being the Deployment's (RFC 3339).
	AnnotationRemovedAt = "ramp.dev/removed-at"
	// AnnotationResumedAt, on such a Rollout, is when its deletion let the
	// Deployment go (unpaused it, or found it unpaused): from then on the
	// admission webhook no longer holds it (RFC 3339).
	AnnotationResumedAt = "ramp.dev/resumed-at"
	// AnnotationEventReasons, on an Event about a Rollout, lists the
	// reasons of everything the Event tells, in order, comma-separated: a
	// pass tells all it did in one Event, under the reason of what
	// matters most.
	AnnotationEventReasons = "ramp.dev/reasons"
	// AnnotationEventWrites, on an Event about a Rollout, lists the
	// objects the pass wrote, as "Kind/name@resourceVersion", comma-separated.
	AnnotationEventWrites = "ramp.dev/written"
)

// CreatedLabels are the labels of an object Ramp creates for the Rollout
// named rollout: LabelRollout and LabelManagedBy.
func CreatedLabels(rollout string) map[string]string {
	return map[string]string{LabelRollout: rollout, LabelManagedBy: ManagedBy}
}

// RolloutStatus is what the controller observed and did.
type RolloutStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// It reads 0 until the controller's first pass (a default), so that
	// tools comparing it with metadata.generation never take a Rollout
	// nobody has looked at yet for a settled one.
	// +kubebuilder:default=0
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Phase summarises the conditions.
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// Message says what the Rollout is doing or waiting for.
	// +optional
	Message string `json:"message,omitempty"`

	// Conditions: Ready, Progressing, Paused, Degraded, Reconciling,
	// Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Replicas is the number of pods of all revisions.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// UpdatedReplicas is the number of pods of the current revision (the
	// canary while one is in flight).
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// UpdatedAvailableReplicas is the number of available pods of the
	// current revision.
	// +optional
	UpdatedAvailableReplicas int32 `json:"updatedAvailableReplicas,omitempty"`
	// ReadyReplicas is the number of ready pods of all revisions.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas is the number of available pods of all revisions.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// Selector is the label selector of the pods, as a string, for the scale
	// subresource (HorizontalPodAutoscaler).
	// +optional
	Selector string `json:"selector,omitempty"`

	// StableRevision is the pod-template hash of the last promoted revision.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`
	// CanaryRevision is the pod-template hash of the revision being rolled
	// out; empty when no canary is in flight.
	// +optional
	CanaryRevision string `json:"canaryRevision,omitempty"`
	// CanaryAttempt counts the starts of the current canary revision: 1,
	// then one more per retry. AnalysisRuns are named after it.
	// +optional
	CanaryAttempt int32 `json:"canaryAttempt,omitempty"`
	// CurrentStepIndex is the index of the canary's current step; it equals
	// the number of steps once all have passed. Absent without a canary.
	// +optional
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// StepStartedAt is when the current step began. Pause durations count
	// from it, so a restarted controller keeps time.
	// +optional
	StepStartedAt *metav1.MicroTime `json:"stepStartedAt,omitempty"`
	// ProgressAt is the last time the canary made progress (a step began or
	// more of its pods became available); the progress deadline counts
	// from it.
	// +optional
	ProgressAt *metav1.MicroTime `json:"progressAt,omitempty"`
	// PausedAt is when spec.paused stopped the canary's clocks. On resume,
	// stepStartedAt and progressAt move forward by the paused time, so a
	// pause neither ends a timed pause step nor spends the progress
	// deadline.
	// +optional
	PausedAt *metav1.MicroTime `json:"pausedAt,omitempty"`
	// Abort is set when the canary revision was rolled back; it stays rolled
	// back until a retry or a new revision.
	// +optional
	Abort *AbortStatus `json:"abort,omitempty"`

	// Weight is the canary's share of traffic: asked by the current step,
	// and reached.
	// +optional
	Weight WeightStatus `json:"weight,omitempty"`

	// Routing is what a mesh router's passes remember of the proxies:
	// since when the canary's pods can be reached.
	// +optional
	Routing *RoutingStatus `json:"routing,omitempty"`

	// Workload is what Ramp holds of a Deployment it runs in place.
	// +optional
	Workload *WorkloadStatus `json:"workload,omitempty"`

	// StepHistory records the steps of the current canary, or of the last
	// one once it was promoted or rolled back: when each began and ended,
	// and how. It starts afresh with each canary (and each retry), so it
	// is the timeline tools such as the dashboard draw.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	StepHistory []StepRecord `json:"stepHistory,omitempty"`

	// StepLabel shows the current step for people, e.g. "2/4".
	// +optional
	StepLabel string `json:"stepLabel,omitempty"`

	// CollisionCount is bumped when two different pod templates hash to the
	// same name; it is mixed into the next hash.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`

	// Handled records the control tokens already acted upon.
	// +optional
	Handled HandledRequests `json:"handled,omitempty"`
}

// WorkloadStatus is what Ramp holds of a Deployment run in place.
type WorkloadStatus struct {
	// Paused: Ramp paused the Deployment (spec.paused) to hold its own
	// rollout of a template not promoted yet. Ramp unpauses it once that
	// template is promoted or reverted; a Deployment someone else paused
	// is left so.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// PromotedAt is when the template the Deployment holds was promoted:
	// the Deployment's own rollout resumes scaleDownDelaySeconds later,
	// once the proxies send its old pods nothing.
	// +optional
	PromotedAt *metav1.MicroTime `json:"promotedAt,omitempty"`
	// RolledOutAt is when the Deployment had rolled the promoted template
	// out: the routing moves to its pods endpointPropagationSeconds later,
	// once every proxy knows them.
	// +optional
	RolledOutAt *metav1.MicroTime `json:"rolledOutAt,omitempty"`
}

// StepOutcome is how a step ended.
// +kubebuilder:validation:Enum=Passed;Promoted;PromotedFull;RolledBack
type StepOutcome string

// Step outcomes.
const (
	// StepPassed: the step did what it asked (its weight reached, its
	// pause over, its analysis or test passed).
	StepPassed StepOutcome = "Passed"
	// StepPromoted: a promote request ended the step.
	StepPromoted StepOutcome = "Promoted"
	// StepPromotedFull: a promote-full request ended the step and skipped
	// the rest.
	StepPromotedFull StepOutcome = "PromotedFull"
	// StepRolledBack: the canary was rolled back during the step.
	StepRolledBack StepOutcome = "RolledBack"
)

// StepRecord is one step of a canary as it happened.
type StepRecord struct {
	// Index of the step in spec.strategy.canary.steps.
	Index int32 `json:"index"`
	// StartedAt is when the step began.
	StartedAt metav1.MicroTime `json:"startedAt"`
	// EndedAt is when it ended; absent while it runs. Time held by
	// spec.paused counts.
	// +optional
	EndedAt *metav1.MicroTime `json:"endedAt,omitempty"`
	// Outcome is how it ended; absent while it runs.
	// +optional
	Outcome StepOutcome `json:"outcome,omitempty"`
}

// AbortStatus says why a canary revision was rolled back.
type AbortStatus struct {
	// Revision is the pod-template hash of the revision rolled back.
	Revision string `json:"revision"`
	// Reason is a CamelCase word: Aborted, ProgressDeadlineExceeded, ...
	Reason string `json:"reason"`
	// Message explains the rollback for people.
	// +optional
	Message string `json:"message,omitempty"`
	// At is when the rollback began.
	At metav1.MicroTime `json:"at"`
}

// RoutingStatus is what a mesh router's passes remember of the proxies
// between passes. (Which revision's traffic is draining is recorded on the
// routing object itself, in the write that took its weight to 0, so that
// it is never lost: the ramp.dev/canary-weight annotation.)
type RoutingStatus struct {
	// CanaryServedAt is when the canary's pods were first seen available
	// behind the canary Service (or subset). The canary's weight rises
	// above 0 only endpointPropagationSeconds later, so that no proxy
	// sends it a request before it knows the pods to send it to.
	// +optional
	CanaryServedAt *metav1.MicroTime `json:"canaryServedAt,omitempty"`
	// StableServedAt is when the stable revision's pods were first seen
	// available behind the stable Service of a Rollout that takes over a
	// Deployment's traffic. Its first route waits endpointPropagationSeconds
	// from then, so that no proxy is sent to a Service whose pods it does
	// not know yet.
	// +optional
	StableServedAt *metav1.MicroTime `json:"stableServedAt,omitempty"`
	// RestAt is when the routing objects may go back to rest after a
	// canary: endpointPropagationSeconds after the last pod of another
	// revision is gone, so that no proxy still lists such a pod when
	// Istio's subsets stop telling the revisions apart.
	// +optional
	RestAt *metav1.MicroTime `json:"restAt,omitempty"`
}

// WeightStatus is the canary's share of traffic, in percent.
type WeightStatus struct {
	// Asked is the weight the current step wants.
	// +optional
	Asked Weight `json:"asked"`
	// Reached is the weight the canary actually gets: with pod-ratio
	// traffic, its ready pods over all ready pods.
	// +optional
	Reached Weight `json:"reached"`
}

// HandledRequests are the last control tokens acted upon, one per request
// kind (see the ramp.dev/* control annotations).
type HandledRequests struct {
	// +optional
	Promote string `json:"promote,omitempty"`
	// +optional
	PromoteFull string `json:"promoteFull,omitempty"`
	// +optional
	Abort string `json:"abort,omitempty"`
	// +optional
	Retry string `json:"retry,omitempty"`
}
