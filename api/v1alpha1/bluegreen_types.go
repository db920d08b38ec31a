package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// BlueGreenStrategy runs the new version beside the old one at full scale,
// behind a preview Service, checks it there, and then switches the active
// Service (or, with a mesh router, the whole weight) to it in one write.
// The old version keeps its pods until the checks after the switch pass,
// so that rolling back is that one write again.
//
// Ramp carries a blue/green rollout out as a canary whose only weights are
// 0 and 100 (see AsCanary): the same status, conditions, events, CLI verbs
// and runs.
//
// +kubebuilder:validation:XValidation:rule="!has(self.previewService) || self.previewService != self.activeService",message="spec.strategy.blueGreen.previewService must differ from activeService: the preview Service selects the new version before it is promoted"
// +kubebuilder:validation:XValidation:rule="has(self.trafficRouting) == has(oldSelf.trafficRouting) && (!has(self.trafficRouting) || self.trafficRouting == oldSelf.trafficRouting)",message="spec.strategy.blueGreen.trafficRouting cannot be added, removed or changed once the Rollout exists: the old routing objects would be left sending traffic; create a new Rollout to change the router"
// +kubebuilder:validation:XValidation:rule="!has(self.trafficRouting) || (!has(self.trafficRouting.stableServiceName) && !has(self.trafficRouting.canaryServiceName))",message="spec.strategy.blueGreen.trafficRouting: name the Services with activeService and previewService, not stableServiceName and canaryServiceName"
// +kubebuilder:validation:XValidation:rule="self.activeService == oldSelf.activeService && has(self.previewService) == has(oldSelf.previewService) && (!has(self.previewService) || self.previewService == oldSelf.previewService)",message="spec.strategy.blueGreen.activeService and previewService cannot change once the Rollout exists: the old Services would keep Ramp's selector; create a new Rollout to change them"
// +kubebuilder:validation:XValidation:rule="has(self.previewService) || size(self.activeService) <= 55",message="spec.strategy.blueGreen.activeService: over 55 characters, the default preview Service name (<activeService>-preview) would be too long; name previewService"
type BlueGreenStrategy struct {
	// ActiveService is the Service that serves production: Ramp points its
	// selector at the stable revision, and at the new one when it is
	// promoted. Without trafficRouting this is the Service clients call; a
	// Service of this name that exists keeps everything but the revision
	// label Ramp adds to its selector, and one that does not is created
	// with the pod template's container ports. With trafficRouting it is
	// the Service Ramp creates for the stable side of the route (with
	// Istio, which routes to subsets of spec.service, the Service that
	// checks reach the stable version through).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	ActiveService string `json:"activeService"`

	// PreviewService selects the new version while it is checked, before
	// any production traffic reaches it. Defaults to <activeService>-preview.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	PreviewService string `json:"previewService,omitempty"`

	// PreviewReplicaCount is how many pods the new version runs behind the
	// preview Service before promotion; it scales to spec.replicas before
	// the switch. Defaults to spec.replicas.
	// +kubebuilder:validation:Minimum=1
	// +optional
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`

	// PrePromotion runs in order before the switch, against the preview:
	// analysis, webhook, job and pause steps. A failure rolls back; the
	// active Service never moved.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(s, !has(s.setWeight) && !has(s.setHeaderRoute) && !has(s.setCookieRoute) && !has(s.setMirrorRoute))",message="spec.strategy.blueGreen.prePromotion: setWeight and header, cookie or mirror routes have no place in blue/green (the weight goes from 0 to 100 at promotion); use analysis, webhook, job or pause"
	// +listType=atomic
	// +optional
	PrePromotion []Step `json:"prePromotion,omitempty"`

	// AutoPromotionSeconds promotes this long after the prePromotion steps
	// passed (0: at once). Absent, the new version waits behind the
	// preview Service for a person: `ramp promote`.
	// +kubebuilder:validation:Minimum=0
	// +optional
	AutoPromotionSeconds *int32 `json:"autoPromotionSeconds,omitempty"`

	// PostPromotion runs in order after the switch, while the old version
	// still has all its pods: a failure switches the active Service back
	// to it at once.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(s, !has(s.setWeight) && !has(s.setHeaderRoute) && !has(s.setCookieRoute) && !has(s.setMirrorRoute))",message="spec.strategy.blueGreen.postPromotion: setWeight and header, cookie or mirror routes have no place in blue/green (the weight goes from 0 to 100 at promotion); use analysis, webhook, job or pause"
	// +listType=atomic
	// +optional
	PostPromotion []Step `json:"postPromotion,omitempty"`

	// ScaleDownDelaySeconds is how long the old version keeps its pods
	// after the postPromotion steps passed, so that clients and proxies
	// that still reach it catch up. Defaults to 30.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=0
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`

	// AbortScaleDownDelaySeconds is how long the new version keeps its pods
	// after a rollback switched traffic away from it, so that every
	// kube-proxy or mesh proxy has stopped sending it requests first.
	// Defaults to 30.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	// +optional
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`

	// EndpointPropagationSeconds is how long the new version's pods must
	// have been available behind the preview Service before the switch, so
	// that every proxy knows them when they get production traffic.
	// Defaults to 5.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=600
	// +optional
	EndpointPropagationSeconds *int32 `json:"endpointPropagationSeconds,omitempty"`

	// TrafficRouting switches the weight of a mesh or route resource from
	// the active to the new version's Service (0 or 100; with Istio, from
	// the stable to the canary subset) instead of the active Service's
	// selector; clients then call spec.service.
	// +optional
	TrafficRouting *TrafficRouting `json:"trafficRouting,omitempty"`

	// Notifications post the Rollout's phase changes to a webhook, in a
	// Slack-compatible payload. (Checks that a canary runs as hooks are
	// prePromotion and postPromotion steps here.)
	// +optional
	Notifications *Notifications `json:"notifications,omitempty"`
}

// PreviewServiceName is the preview Service's name.
func (b *BlueGreenStrategy) PreviewServiceName() string {
	if b.PreviewService != "" {
		return b.PreviewService
	}
	return b.ActiveService + "-preview"
}

// Switch is the step of a blue/green rollout's canary that moves
// production traffic to the new version.
var Switch = Step{SetWeight: ptr.To(FullWeight)}

// AsCanary is the canary that carries a blue/green rollout out: the
// prePromotion steps at weight 0 (a check, as in any canary, waits for
// the pods its weight asks: here the whole preview); a pause until
// promoted, or for autoPromotionSeconds; the switch (weight 100); the
// postPromotion steps; then promotion, at full scale all along.
func (b *BlueGreenStrategy) AsCanary() CanaryStrategy {
	steps := append([]Step(nil), b.PrePromotion...)
	switch {
	case b.AutoPromotionSeconds == nil:
		steps = append(steps, Step{Pause: &PauseStep{}})
	case *b.AutoPromotionSeconds > 0:
		steps = append(steps, Step{Pause: &PauseStep{Duration: seconds(*b.AutoPromotionSeconds)}})
	}
	steps = append(steps, Switch)
	steps = append(steps, b.PostPromotion...)
	c := CanaryStrategy{
		Steps:                      steps,
		CanaryScale:                CanaryScaleFull,
		ScaleDownDelaySeconds:      ptr.To(ptr.Deref(b.ScaleDownDelaySeconds, 30)),
		AbortScaleDownDelaySeconds: b.AbortScaleDownDelaySeconds,
		EndpointPropagationSeconds: b.EndpointPropagationSeconds,
		Notifications:              b.Notifications,
	}
	if b.TrafficRouting != nil {
		tr := *b.TrafficRouting
		tr.StableServiceName, tr.CanaryServiceName = b.ActiveService, b.PreviewServiceName()
		c.TrafficRouting = &tr
	}
	return c
}

// Effective is the canary that carries the strategy out: the canary
// itself, or a blue/green rollout's (AsCanary).
func (s *Strategy) Effective() CanaryStrategy {
	if s.BlueGreen != nil {
		return s.BlueGreen.AsCanary()
	}
	return s.Canary
}

// Routing is the strategy's trafficRouting, nil for none.
func (s *Strategy) Routing() *TrafficRouting {
	if s.BlueGreen != nil {
		return s.BlueGreen.TrafficRouting
	}
	return s.Canary.TrafficRouting
}

// Normalize sets spec.strategy.canary of a blue/green Rollout to the
// canary that carries it out, so that the controller reads one shape. It
// is for a Rollout read for one pass, never for one to be written back.
func (ro *Rollout) Normalize() {
	if ro.Spec.Strategy.BlueGreen != nil {
		ro.Spec.Strategy.Canary = ro.Spec.Strategy.BlueGreen.AsCanary()
	}
}

func seconds(n int32) *metav1.Duration {
	return &metav1.Duration{Duration: time.Duration(n) * time.Second}
}
