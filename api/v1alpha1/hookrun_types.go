package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HookPhase is where a hook run stands.
type HookPhase string

// Hook phases.
const (
	HookRunning    HookPhase = "Running"
	HookSuccessful HookPhase = "Successful"
	HookFailed     HookPhase = "Failed"
)

// Done reports whether a phase is final.
func (p HookPhase) Done() bool { return p == HookSuccessful || p == HookFailed }

// HookRun is one run of a webhook or a Job for one canary: the hook as it
// was when the run started, every attempt, and the verdict. Ramp creates
// it, owned by the Rollout; its status keeps a pending callback or a
// running Job across controller restarts.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rhr,categories=ramp
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.status.target`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.spec.context.rollout`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type HookRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HookRunSpec   `json:"spec"`
	Status HookRunStatus `json:"status,omitempty"`
}

// HookRunSpec is the hook a run carries out.
// +kubebuilder:validation:XValidation:rule="has(self.webhook) != has(self.job)",message="a HookRun has exactly one of webhook and job"
type HookRunSpec struct {
	// +optional
	Webhook *WebhookHook `json:"webhook,omitempty"`
	// +optional
	Job *JobHook `json:"job,omitempty"`
	// Context gives the hook the canary's names.
	Context HookContext `json:"context"`
	// Terminate ends a run still in progress as failed (its canary is
	// over): a pending callback is refused, a running Job deleted.
	// +optional
	Terminate bool `json:"terminate,omitempty"`
}

// HookContext is the canary a hook runs for.
type HookContext struct {
	AnalysisContext `json:",inline"`
	// Step is the step's index, or the hook's event (BeforeCanary, ...).
	Step string `json:"step"`
	// Weight the canary was asked for when the run started.
	// +optional
	Weight Weight `json:"weight,omitempty"`
	// Phase the Rollout entered, for a notification.
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// Message about the Rollout, for a notification.
	// +optional
	Message string `json:"message,omitempty"`
}

// HookRunStatus records the attempts and the verdict.
type HookRunStatus struct {
	// +optional
	Phase HookPhase `json:"phase,omitempty"`
	// Message is the verdict's reason: the test's own message when it
	// gave one.
	// +optional
	Message string `json:"message,omitempty"`
	// Target is what the hook calls, without query or secrets: "POST
	// https://tests.example/run" or "Job web-1a2b3c-1-step-2".
	// +optional
	Target string `json:"target,omitempty"`
	// +optional
	StartedAt *metav1.MicroTime `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.MicroTime `json:"finishedAt,omitempty"`
	// Attempts of a webhook call, the latest 10, oldest first.
	// +optional
	Attempts []HookAttempt `json:"attempts,omitempty"`
	// AttemptCount is the number of calls made, all told.
	// +optional
	AttemptCount int32 `json:"attemptCount,omitempty"`
	// NextAttemptAt is when the next retry is due.
	// +optional
	NextAttemptAt *metav1.MicroTime `json:"nextAttemptAt,omitempty"`
	// Callback, while one is awaited.
	// +optional
	Callback *CallbackStatus `json:"callback,omitempty"`
	// JobName of the Job a job hook runs.
	// +optional
	JobName string `json:"jobName,omitempty"`
}

// HookAttempt is one call of a webhook.
type HookAttempt struct {
	StartedAt metav1.MicroTime `json:"startedAt"`
	// +optional
	FinishedAt *metav1.MicroTime `json:"finishedAt,omitempty"`
	// Code is the HTTP status (0: no answer).
	// +optional
	Code int32 `json:"code,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// CallbackStatus is an awaited callback. Only the tokens' SHA-256 are
// kept: the tokens went to the called system alone. Each attempt sends a
// new token, and every token sent stays good until the callback expires:
// a receiver that took an earlier attempt (and skipped the repeats by
// their Idempotency-Key) answers with the token it got.
type CallbackStatus struct {
	// +kubebuilder:validation:MaxItems=32
	TokenHashes []string    `json:"tokenHashes"`
	ExpiresAt   metav1.Time `json:"expiresAt"`
}

// +kubebuilder:object:root=true

// HookRunList is a list of HookRuns.
type HookRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HookRun `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &HookRun{}, &HookRunList{})
}
