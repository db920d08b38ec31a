package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnalysisPhase is where an analysis, a metric or a measurement stands.
// +kubebuilder:validation:Enum=Pending;Running;Successful;Failed;Error;Inconclusive
type AnalysisPhase string

// Analysis phases.
const (
	AnalysisPending      AnalysisPhase = "Pending"
	AnalysisRunning      AnalysisPhase = "Running"
	AnalysisSuccessful   AnalysisPhase = "Successful"
	AnalysisFailed       AnalysisPhase = "Failed"
	AnalysisError        AnalysisPhase = "Error"
	AnalysisInconclusive AnalysisPhase = "Inconclusive"
)

// Done reports whether a phase is final.
func (p AnalysisPhase) Done() bool {
	return p == AnalysisSuccessful || p == AnalysisFailed || p == AnalysisError || p == AnalysisInconclusive
}

// AnalysisRun is one run of analysis templates for one canary: the metrics
// as they were when it started, and every measurement taken. Ramp creates
// it, owned by the Rollout; its status keeps the run going across
// controller restarts.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rar,categories=ramp
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.spec.context.rollout`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AnalysisRunSpec   `json:"spec"`
	Status AnalysisRunStatus `json:"status,omitempty"`
}

// AnalysisRunSpec is what a run measures.
type AnalysisRunSpec struct {
	// Metrics, copied from the templates when the run started.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=128
	Metrics []Metric `json:"metrics"`
	// Args resolved from the templates and the Rollout.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Args []Argument `json:"args,omitempty"`
	// Context gives the queries the canary's names.
	Context AnalysisContext `json:"context"`
	// UntilTerminated: metrics without a count measure until Terminate is
	// set (a background analysis). Otherwise they measure once.
	// +optional
	UntilTerminated bool `json:"untilTerminated,omitempty"`
	// Terminate ends the run: measurements stop, and metrics that have
	// not failed succeed.
	// +optional
	Terminate bool `json:"terminate,omitempty"`
}

// AnalysisContext is the canary a run measures, for query templates.
type AnalysisContext struct {
	Rollout        string `json:"rollout"`
	StableRevision string `json:"stableRevision"`
	CanaryRevision string `json:"canaryRevision"`
	// +optional
	StableService string `json:"stableService,omitempty"`
	// +optional
	CanaryService string `json:"canaryService,omitempty"`
	// StableReplicaSet names the ReplicaSet of the stable revision's pods
	// when it is not <rollout>-<stableRevision>: a Deployment's, run in
	// place. Its pods are named after it.
	// +optional
	StableReplicaSet string `json:"stableReplicaSet,omitempty"`
}

// AnalysisRunStatus records the run's measurements and verdict.
type AnalysisRunStatus struct {
	// Phase of the run: the worst of its metrics'.
	// +optional
	Phase AnalysisPhase `json:"phase,omitempty"`
	// Message says why, for a failed or inconclusive run.
	// +optional
	Message string `json:"message,omitempty"`
	// StartedAt is when the run began; initial delays count from it.
	// +optional
	StartedAt *metav1.MicroTime `json:"startedAt,omitempty"`
	// MetricResults, one per metric.
	// +listType=map
	// +listMapKey=name
	// +optional
	MetricResults []MetricResult `json:"metricResults,omitempty"`
}

// MetricResult is one metric's tally and its latest measurements.
type MetricResult struct {
	Name  string        `json:"name"`
	Phase AnalysisPhase `json:"phase"`
	// Message explains the phase.
	// +optional
	Message string `json:"message,omitempty"`
	// Count of measurements taken, and how each ended.
	Count        int32 `json:"count"`
	Successful   int32 `json:"successful"`
	Failed       int32 `json:"failed"`
	Inconclusive int32 `json:"inconclusive"`
	Error        int32 `json:"error"`
	// ConsecutiveErrors counts the errors since the last measurement that
	// worked.
	ConsecutiveErrors int32 `json:"consecutiveErrors"`
	// Measurements are the latest ones (at most 10), oldest first.
	// +optional
	Measurements []Measurement `json:"measurements,omitempty"`
}

// Measurement is one query and its verdict.
type Measurement struct {
	Phase AnalysisPhase `json:"phase"`
	// Value is the result, as text.
	// +optional
	Value string `json:"value,omitempty"`
	// Message explains an error, or what the conditions said.
	// +optional
	Message    string            `json:"message,omitempty"`
	StartedAt  metav1.MicroTime  `json:"startedAt"`
	FinishedAt *metav1.MicroTime `json:"finishedAt,omitempty"`
}

// +kubebuilder:object:root=true

// AnalysisRunList is a list of AnalysisRuns.
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisRun `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &AnalysisRun{}, &AnalysisRunList{})
}
