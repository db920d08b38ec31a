package v1alpha1

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Rollout runs a workload and takes each new version of its pod template
// through a progressive canary: new pods, then traffic step by step, then
// promotion, or rollback at the first failure.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=rro,categories=ramp
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Step",type=string,JSONPath=`.status.stepLabel`
// +kubebuilder:printcolumn:name="Weight",type=number,JSONPath=`.status.weight.reached`,description="Share of traffic the canary actually receives, in percent"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec RolloutSpec `json:"spec"`
	// Status is what the controller observed and did. It defaults to {}
	// so that a new Rollout reads status.observedGeneration 0 (see there).
	// +kubebuilder:default={}
	Status RolloutStatus `json:"status,omitempty"`
}

// RolloutSpec is what the user wants running, and how new versions reach it.
//
// +kubebuilder:validation:XValidation:rule="has(self.template) != has(self.workloadRef)",message="exactly one of spec.template and spec.workloadRef must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.canary) || !has(self.strategy.canary.trafficRouting) || (has(self.service) && size(self.service) > 0)",message="spec.service (the root Service clients call) is required with spec.strategy.canary.trafficRouting"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.blueGreen) || !has(self.strategy.blueGreen.trafficRouting) || (has(self.service) && size(self.service) > 0)",message="spec.service (the root Service clients call) is required with spec.strategy.blueGreen.trafficRouting"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.blueGreen) || !has(self.strategy.blueGreen.trafficRouting) || !has(self.service) || [self.strategy.blueGreen.activeService, has(self.strategy.blueGreen.previewService) ? self.strategy.blueGreen.previewService : self.strategy.blueGreen.activeService + '-preview'].all(n, n != self.service)",message="spec.strategy.blueGreen: with trafficRouting, activeService and previewService name the Services Ramp creates for the two versions, and must differ from spec.service (the root Service clients call)"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.canary) || !has(self.strategy.canary.trafficRouting) || !has(self.service) || [has(self.strategy.canary.trafficRouting.stableServiceName) ? self.strategy.canary.trafficRouting.stableServiceName : self.service + '-stable', has(self.strategy.canary.trafficRouting.canaryServiceName) ? self.strategy.canary.trafficRouting.canaryServiceName : self.service + '-canary'].all(n, n != self.service) && (has(self.strategy.canary.trafficRouting.stableServiceName) ? self.strategy.canary.trafficRouting.stableServiceName : self.service + '-stable') != (has(self.strategy.canary.trafficRouting.canaryServiceName) ? self.strategy.canary.trafficRouting.canaryServiceName : self.service + '-canary')",message="spec.strategy.canary.trafficRouting: stableServiceName and canaryServiceName must differ from each other and from spec.service (Ramp owns those two Services)"
// +kubebuilder:validation:XValidation:rule="!has(self.workloadRef) || !has(self.workloadRef.mode) || self.workloadRef.mode != 'InPlace' || (has(self.workloadRef.kind) && self.workloadRef.kind == 'StatefulSet') || (has(self.strategy.canary) && has(self.strategy.canary.trafficRouting))",message="spec.workloadRef.mode InPlace needs spec.strategy.canary.trafficRouting: the Deployment keeps its replicas, so the canary's share must come from a mesh's weights, not from pod counts; use mode Adopt for pod ratio and blue/green"
// +kubebuilder:validation:XValidation:rule="!has(self.workloadRef) || !has(self.workloadRef.kind) || self.workloadRef.kind != 'StatefulSet' || (has(self.workloadRef.mode) && self.workloadRef.mode == 'InPlace' && has(self.strategy.canary))",message="spec.workloadRef of kind StatefulSet needs mode InPlace and a canary strategy: Ramp moves the StatefulSet's partition, so its pods keep their names, ordinals and volumes; it never runs a StatefulSet's template in ReplicaSets of its own"
type RolloutSpec struct {
	// Replicas is the number of pods of the stable version. Defaults to 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Selector selects the pods of every revision of this Rollout. It must
	// match the pod template's labels.
	Selector *metav1.LabelSelector `json:"selector"`

	// Template is the pod template of the version to run. Exactly one of
	// template and workloadRef is set.
	// +optional
	Template *corev1.PodTemplateSpec `json:"template,omitempty"`

	// WorkloadRef runs an existing Deployment's or StatefulSet's pod
	// template; changes to that template start canaries. Its mode says
	// how: Adopt runs the template in Ramp's ReplicaSets and scales the
	// Deployment to zero; InPlace leaves the workload serving and only
	// holds and paces its rollout.
	// +optional
	WorkloadRef *WorkloadRef `json:"workloadRef,omitempty"`

	// Service is the name of the root Service clients call. With pod-ratio
	// traffic it selects the pods of both versions, so traffic follows the
	// number of ready pods; mesh routers split the traffic sent to it
	// between the stable and canary revisions. Required with
	// trafficRouting.
	// +kubebuilder:validation:MaxLength=56
	// +optional
	Service string `json:"service,omitempty"`

	// Strategy says how a new version is rolled out.
	Strategy Strategy `json:"strategy"`

	// MinReadySeconds is how long a new pod must be ready, without any of
	// its containers crashing, to count as available.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// RevisionHistoryLimit is the number of old, scaled-down ReplicaSets
	// kept for rollback. Defaults to 10.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// AnalysisRunHistoryLimit is the number of finished AnalysisRuns kept
	// besides those of the current canary. Defaults to 5.
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +optional
	AnalysisRunHistoryLimit *int32 `json:"analysisRunHistoryLimit,omitempty"`

	// HookRunHistoryLimit is the number of finished HookRuns (webhook and
	// Job runs) kept besides those of the current canary. Defaults to 5.
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +optional
	HookRunHistoryLimit *int32 `json:"hookRunHistoryLimit,omitempty"`

	// ProgressDeadlineSeconds is how long a canary may wait for its pods to
	// become ready before it is rolled back. Defaults to 600.
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// Paused holds a canary where it is: no step starts or ends, no weight
	// changes. Resume by setting it back to false.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// WorkloadRef names a Deployment or StatefulSet in the Rollout's namespace.
//
// +kubebuilder:validation:XValidation:rule="self.mode == oldSelf.mode",message="spec.workloadRef.mode cannot change once the Rollout exists: delete the Rollout (Ramp hands the Deployment back) and create it again in the other mode"
// +kubebuilder:validation:XValidation:rule="self.kind == oldSelf.kind",message="spec.workloadRef.kind cannot change once the Rollout exists: its stable revision is that workload's; delete the Rollout (Ramp hands the workload back) and create another"
type WorkloadRef struct {
	// APIVersion of the workload; only apps/v1 is supported.
	// +kubebuilder:validation:Enum=apps/v1
	// +kubebuilder:default=apps/v1
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the workload: Deployment, or StatefulSet (mode InPlace
	// only: each step moves its updateStrategy.rollingUpdate.partition).
	// +kubebuilder:validation:Enum=Deployment;StatefulSet
	// +kubebuilder:default=Deployment
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name of the Deployment or StatefulSet.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Mode is how Ramp runs the Deployment (docs/workloads.md).
	//
	// Adopt (the default): Ramp runs the Deployment's template in its own
	// ReplicaSets, at spec.replicas, and scales the Deployment to zero once
	// they serve; deleting the Rollout scales it back first.
	//
	// InPlace: the Deployment keeps serving the stable version and its
	// replicas stay its own (an HPA may scale it). When its template
	// changes, Ramp pauses it (spec.paused, the only field Ramp writes),
	// runs the canary beside it, sized from the Deployment's replicas, and
	// on promotion unpauses it, keeping traffic on the canary until the
	// Deployment's new pods are available. Needs
	// spec.strategy.canary.trafficRouting; spec.replicas is not used.
	//
	// A StatefulSet is always run in place: when its template changes,
	// Ramp sets its partition to its replicas (the only field Ramp
	// writes), and each step lowers it so that the canary's share of its
	// pods, highest ordinals first, runs the new template; promotion sets
	// it to 0, a rollback raises it back and restores the updated pods one
	// at a time. With pod ratio, the share of pods is the traffic's; with a
	// mesh router, routes split traffic by the pods' controller-revision-hash.
	// +kubebuilder:validation:Enum=Adopt;InPlace
	// +kubebuilder:default=Adopt
	// +optional
	Mode WorkloadMode `json:"mode,omitempty"`
}

// WorkloadMode is how a Rollout runs the Deployment its workloadRef names.
type WorkloadMode string

// Workload modes.
const (
	// WorkloadAdopt runs the Deployment's template in Ramp's ReplicaSets.
	WorkloadAdopt WorkloadMode = "Adopt"
	// WorkloadInPlace leaves the Deployment serving and holds its rollout.
	WorkloadInPlace WorkloadMode = "InPlace"
)

// InPlace reports whether the Rollout runs its Deployment in place.
func (s *RolloutSpec) InPlace() bool {
	return s.WorkloadRef != nil && s.WorkloadRef.Mode == WorkloadInPlace
}

// Workload kinds a workloadRef may name.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
)

// StatefulSet reports whether the Rollout runs a StatefulSet (in place).
func (s *RolloutSpec) StatefulSet() bool {
	return s.WorkloadRef != nil && s.WorkloadRef.Kind == KindStatefulSet
}

// InPlaceDeployment reports whether the Rollout runs a Deployment in place.
func (s *RolloutSpec) InPlaceDeployment() bool {
	return s.InPlace() && !s.StatefulSet()
}

// NewObject returns an empty object of the kind the workloadRef names, to
// read it into, and where its pod template will be; kind is that kind,
// Deployment when unset.
func (r *WorkloadRef) NewObject() (kind string, obj interface {
	metav1.Object
	runtime.Object
}, tmpl *corev1.PodTemplateSpec) {
	if r.Kind == KindStatefulSet {
		sts := &appsv1.StatefulSet{}
		return KindStatefulSet, sts, &sts.Spec.Template
	}
	dep := &appsv1.Deployment{}
	return KindDeployment, dep, &dep.Spec.Template
}

// Strategy is how new versions are rolled out: exactly one of canary and
// blueGreen.
//
// +kubebuilder:validation:XValidation:rule="has(self.canary) != has(self.blueGreen)",message="spec.strategy sets exactly one of canary and blueGreen"
// +kubebuilder:validation:XValidation:rule="has(self.blueGreen) == has(oldSelf.blueGreen)",message="spec.strategy cannot change between canary and blueGreen once the Rollout exists: their Services and routing differ; create a new Rollout"
type Strategy struct {
	// Canary moves traffic to the new version step by step.
	// +optional
	Canary CanaryStrategy `json:"canary,omitzero"`

	// BlueGreen runs the new version at full scale behind a preview
	// Service, checks it, and switches production to it in one write.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
}

// CanaryStrategy is a progressive canary: the steps, and how pods are added
// and removed on the way.
//
// The fractional-weight rule names the offending step's index through a
// literal list of index strings: the API server's cost estimator treats
// string(int) as unbounded and refuses to concatenate it into a message.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.maxSurge) && has(self.maxUnavailable) && (self.maxSurge == 0 || self.maxSurge == '0%') && (self.maxUnavailable == 0 || self.maxUnavailable == '0%'))",message="spec.strategy.canary.maxSurge and maxUnavailable cannot both be 0: pods could never be replaced"
// +kubebuilder:validation:XValidation:rule="(has(self.trafficRouting) && !(has(self.trafficRouting.istio) && has(self.trafficRouting.istio.percentWeights) && self.trafficRouting.istio.percentWeights)) || self.steps.all(s, !has(s.setWeight) || s.setWeight == double(int(s.setWeight)))",messageExpression="'spec.strategy.canary.steps[' + ['0','1','2','3','4','5','6','7','8','9','10','11','12','13','14','15','16','17','18','19','20','21','22','23','24','25','26','27','28','29','30','31','32','33','34','35','36','37','38','39','40','41','42','43','44','45','46','47','48','49','50','51','52','53','54','55','56','57','58','59','60','61','62','63'][self.steps.map(s, has(s.setWeight) && s.setWeight != double(int(s.setWeight))).indexOf(true)] + '].setWeight has decimals, but ' + (has(self.trafficRouting) ? 'Istio with percentWeights (Istio before 1.13)' : 'pod-ratio traffic (no trafficRouting)') + ' carries whole percentages only: use a whole number, or a router that takes fractions (smi, gatewayAPI, istio without percentWeights)'"
// +kubebuilder:validation:XValidation:rule="!self.steps.exists(s, has(s.setHeaderRoute) || has(s.setCookieRoute) || has(s.setMirrorRoute)) || (has(self.trafficRouting) && (has(self.trafficRouting.gatewayAPI) || has(self.trafficRouting.istio)))",message="spec.strategy.canary.steps: setHeaderRoute, setCookieRoute and setMirrorRoute need trafficRouting.gatewayAPI or trafficRouting.istio, which route by request headers and mirror (SMI and pod ratio cannot)"
// +kubebuilder:validation:XValidation:rule="!has(self.canaryScale) || has(self.trafficRouting)",message="spec.strategy.canary.canaryScale applies to mesh routers only: with pod-ratio traffic the weight sets the pod counts"
// +kubebuilder:validation:XValidation:rule="!has(self.abortScaleDownDelaySeconds) || has(self.trafficRouting)",message="spec.strategy.canary.abortScaleDownDelaySeconds applies to mesh routers only: with pod-ratio traffic the canary's pods are its traffic, and they go at once (give the app a preStop sleep longer than your endpoints take to propagate: docs/routers.md)"
// +kubebuilder:validation:XValidation:rule="!has(self.endpointPropagationSeconds) || has(self.trafficRouting)",message="spec.strategy.canary.endpointPropagationSeconds applies to mesh routers only: with pod-ratio traffic a pod gets requests once its endpoints reach kube-proxy, whatever Ramp does"
// +kubebuilder:validation:XValidation:rule="has(self.trafficRouting) == has(oldSelf.trafficRouting) && (!has(self.trafficRouting) || self.trafficRouting == oldSelf.trafficRouting)",message="spec.strategy.canary.trafficRouting cannot be added, removed or changed once the Rollout exists: the old routing objects would be left sending traffic; create a new Rollout to change the router"
type CanaryStrategy struct {
	// Steps run in order; after the last one the canary is promoted.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Steps []Step `json:"steps"`

	// TrafficRouting shapes traffic with weights in a mesh or route
	// resource. Absent, traffic follows the ratio of ready pods, which
	// needs no mesh but is coarse and moves as fast as pods start.
	// +optional
	TrafficRouting *TrafficRouting `json:"trafficRouting,omitempty"`

	// CanaryScale is how many pods the canary runs while a mesh router
	// shapes its traffic: Proportional to the weight (at least one pod,
	// the default) or Full. The stable revision keeps all its pods until
	// promotion either way, so a rollback never waits for pods.
	// +optional
	CanaryScale CanaryScale `json:"canaryScale,omitempty"`

	// MaxSurge is how many pods (or what percentage of replicas) may run
	// above the desired count while pods are replaced. Defaults to 25%.
	// +kubebuilder:default="25%"
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="must be a non-negative integer or a percentage such as 25%"
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// MaxUnavailable is how many pods (or what percentage of replicas) may
	// be unavailable while pods are replaced. Defaults to 0.
	// +kubebuilder:default=0
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="must be a non-negative integer or a percentage such as 25%"
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// Analysis runs in the background from startingStep until the canary
	// ends, and rolls it back the moment it fails.
	// +optional
	Analysis *BackgroundAnalysis `json:"analysis,omitempty"`

	// Hooks run around the canary: a BeforeCanary hook must pass before
	// the first step (its failure rolls back); AfterPromotion and
	// AfterRollback hooks report, and their results change nothing.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Hooks []LifecycleHook `json:"hooks,omitempty"`

	// Notifications post the Rollout's phase changes to a webhook, in a
	// Slack-compatible payload.
	// +optional
	Notifications *Notifications `json:"notifications,omitempty"`

	// ScaleDownDelaySeconds is how long the old version keeps its pods after
	// promotion, so that clients and proxies catch up: with a mesh router,
	// longer than the mesh takes to send the stable Service's new
	// endpoints to every proxy. Defaults to 30.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=0
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`

	// AbortScaleDownDelaySeconds is how long a canary keeps its pods after
	// its weight went to 0 (a rollback, or a canary replaced by a newer
	// version), so that every proxy has stopped sending it requests first;
	// meanwhile the canary Service selects no other revision. A router
	// whose implementation reports what its proxies applied (Gateway API;
	// Istio with its status reporting on) ends the wait as soon as it
	// does, and says so in an event when it does not. Mesh routers only;
	// defaults to 30.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	// +optional
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`

	// EndpointPropagationSeconds is how long the mesh takes to tell every
	// proxy that the pods behind a Service changed. A canary's weight rises
	// above 0 only once its pods have been available behind the canary
	// Service (or subset) this long, so that no proxy sends it requests
	// before it knows where they go. Mesh routers only; defaults to 5.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=600
	// +optional
	EndpointPropagationSeconds *int32 `json:"endpointPropagationSeconds,omitempty"`
}

// Step is one step of a canary. Exactly one of its fields is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.setWeight), has(self.pause), has(self.analysis), has(self.webhook), has(self.job), has(self.setHeaderRoute), has(self.setCookieRoute), has(self.setMirrorRoute)].exists_one(x, x)",message="a step sets exactly one of setWeight, pause, analysis, webhook, job, setHeaderRoute, setCookieRoute and setMirrorRoute"
type Step struct {
	// SetWeight sends this share of traffic, in percent, to the canary and
	// waits until it gets it. With pod-ratio traffic the weight is reached
	// by the number of ready pods of each version.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:validation:XValidation:rule="self == double(int(self * 1000.0 + 0.5)) / 1000.0",message="a weight has at most three decimals, e.g. 0.125"
	// +optional
	SetWeight *Weight `json:"setWeight,omitempty"`

	// Pause holds the canary for a duration, or until it is promoted.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`

	// Analysis runs analysis templates against the canary and waits for
	// their verdict: success goes on, failure rolls back, an inconclusive
	// result pauses for a person to promote or abort.
	// +optional
	Analysis *AnalysisStep `json:"analysis,omitempty"`

	// Webhook calls an external test system and waits for its verdict:
	// the answer's status, or with callback its later answer. Failure
	// rolls the canary back with the test's message.
	// +optional
	Webhook *WebhookHook `json:"webhook,omitempty"`

	// Job runs a test container in the cluster and waits for it: exit 0
	// goes on, failure rolls the canary back.
	// +optional
	Job *JobHook `json:"job,omitempty"`

	// SetHeaderRoute sends the requests whose headers match to the canary,
	// whatever its weight, until the canary ends (gatewayAPI and istio).
	// +optional
	SetHeaderRoute *HeaderRoute `json:"setHeaderRoute,omitempty"`

	// SetCookieRoute sends the requests carrying a cookie to the canary,
	// as setHeaderRoute does (gatewayAPI and istio).
	// +optional
	SetCookieRoute *CookieRoute `json:"setCookieRoute,omitempty"`

	// SetMirrorRoute copies a share of the requests to the canary, whose
	// answers are dropped (gatewayAPI and istio).
	// +optional
	SetMirrorRoute *MirrorRoute `json:"setMirrorRoute,omitempty"`
}

// PauseStep holds a canary. With no duration it waits until promoted.
type PauseStep struct {
	// Duration of the pause, such as 30s, 5m or 1h30m. Without it the canary
	// waits until it is promoted.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// +kubebuilder:object:root=true

// RolloutList is a list of Rollouts.
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Rollout `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Rollout{}, &RolloutList{})
}
