package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WebhookHook calls an external system: a test service, CI, a chat.
// Every call carries an Idempotency-Key header, the same for every attempt
// of one hook run: calls are at least once across controller restarts, and
// receivers use the key to tell a repeat from a new request.
type WebhookHook struct {
	// Method of the request. Defaults to POST.
	// +kubebuilder:validation:Enum=GET;POST;PUT;PATCH
	// +kubebuilder:default=POST
	// +optional
	Method string `json:"method,omitempty"`

	// URL as a Go template with the rollout's values: {{.Rollout}},
	// {{.Namespace}}, {{.StableRevision}}, {{.CanaryRevision}},
	// {{.StableService}}, {{.CanaryService}}, {{.Step}}, {{.Weight}},
	// {{.CallbackURL}}; each escaped for a URL query.
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// Body as a Go template with the same values, escaped for JSON
	// strings. Defaults to a JSON document holding all of them.
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Body string `json:"body,omitempty"`

	// Headers sent with the request, literal or from Secrets.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Headers []Header `json:"headers,omitempty"`

	// Timeout of one attempt, at most 5m. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('5m')",message="must be more than 0s and at most 5m: a call holds a worker for its timeout; for longer tests use callback"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Retries after a failed attempt (a network error, a timeout or a
	// status outside successCodes). Defaults to 0.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	// +optional
	Retries *int32 `json:"retries,omitempty"`

	// RetryBackoff is the wait before the first retry; it doubles at each
	// retry, up to one minute. Defaults to 1s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="must be more than 0s"
	// +optional
	RetryBackoff *metav1.Duration `json:"retryBackoff,omitempty"`

	// SuccessCodes are the HTTP statuses that pass. Defaults to any 2xx.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Minimum=100
	// +kubebuilder:validation:items:Maximum=599
	// +optional
	SuccessCodes []int32 `json:"successCodes,omitempty"`

	// Callback makes the hook wait for the called system to answer later
	// at {{.CallbackURL}} (a single-use address) with
	// {"success": true|false, "mdMessage": "..."}.
	// +optional
	Callback *CallbackSpec `json:"callback,omitempty"`

	// TLS settings for an https URL.
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
}

// CallbackSpec is how long a webhook waits for its callback.
type CallbackSpec struct {
	// Timeout after the call: no callback by then fails the hook.
	// Defaults to 1h.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// JobHook runs a test in the cluster as a Job of one container. The
// container gets the rollout's values as environment variables:
// RAMP_ROLLOUT, RAMP_NAMESPACE, RAMP_STABLE_REVISION, RAMP_CANARY_REVISION,
// RAMP_STABLE_SERVICE, RAMP_CANARY_SERVICE, RAMP_STEP and RAMP_WEIGHT.
type JobHook struct {
	// Container that runs the test; it passes when it exits 0.
	Container corev1.Container `json:"container"`

	// ServiceAccountName the pod runs as. Defaults to the namespace's
	// default ServiceAccount.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Labels and Annotations of the Job's pod.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// BackoffLimit is the number of retries of a failed pod. Defaults to 0.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`

	// Timeout of the Job (its activeDeadlineSeconds). Defaults to 30m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Cleanup says when the finished Job is deleted: OnSuccess (the
	// default: a failed Job stays for its logs), Always, or Never (it goes
	// with its HookRun, when the run history is pruned).
	// +kubebuilder:validation:Enum=OnSuccess;Always;Never
	// +kubebuilder:default=OnSuccess
	// +optional
	Cleanup JobCleanup `json:"cleanup,omitempty"`
}

// JobCleanup says when a finished test Job is deleted.
type JobCleanup string

// Job cleanup policies.
const (
	JobCleanupOnSuccess JobCleanup = "OnSuccess"
	JobCleanupAlways    JobCleanup = "Always"
	JobCleanupNever     JobCleanup = "Never"
)

// HookEvent is when a lifecycle hook runs.
// +kubebuilder:validation:Enum=BeforeCanary;AfterPromotion;AfterRollback
type HookEvent string

// Lifecycle hook events.
const (
	BeforeCanary   HookEvent = "BeforeCanary"
	AfterPromotion HookEvent = "AfterPromotion"
	AfterRollback  HookEvent = "AfterRollback"
)

// LifecycleHook is a webhook or a Job run at an event of the canary.
// +kubebuilder:validation:XValidation:rule="has(self.webhook) != has(self.job)",message="a hook sets exactly one of webhook and job"
type LifecycleHook struct {
	On HookEvent `json:"on"`
	// +optional
	Webhook *WebhookHook `json:"webhook,omitempty"`
	// +optional
	Job *JobHook `json:"job,omitempty"`
}

// Notifications post phase changes. The default body is Slack's
// {"text": "..."}; a body template may use {{.Message}}, {{.Phase}} and
// the webhook values.
type Notifications struct {
	// URL to post to, e.g. a Slack incoming webhook.
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// Body as a Go template. Defaults to {"text": "{{.Message}}"}.
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Body string `json:"body,omitempty"`

	// Headers sent with the request, literal or from Secrets.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Headers []Header `json:"headers,omitempty"`

	// Phases to notify. Defaults to all: Progressing, Paused, Healthy,
	// Degraded.
	// +kubebuilder:validation:MaxItems=4
	// +listType=set
	// +optional
	Phases []Phase `json:"phases,omitempty"`
}
