package v1alpha1

// TrafficRouting shapes traffic with weights written into a mesh or route
// resource instead of pod counts: any weight regardless of replicas, and a
// rollback that is one write. Exactly one router is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.smi), has(self.gatewayAPI), has(self.istio)].exists_one(x, x)",message="spec.strategy.canary.trafficRouting sets exactly one of smi, gatewayAPI and istio"
type TrafficRouting struct {
	// SMI writes weights into an SMI TrafficSplit (Linkerd with
	// linkerd-smi, Open Service Mesh, Consul, Traefik Mesh).
	// +optional
	SMI *SMIRouting `json:"smi,omitempty"`

	// GatewayAPI writes weights into the backendRefs of a Gateway API
	// HTTPRoute: a mesh route (GAMMA: Linkerd 2.14+, Istio) or an ingress
	// route.
	// +optional
	GatewayAPI *GatewayAPIRouting `json:"gatewayAPI,omitempty"`

	// Istio writes weights into a VirtualService route whose destinations
	// are the stable and canary subsets of a DestinationRule.
	// +optional
	Istio *IstioRouting `json:"istio,omitempty"`

	// StableServiceName names the Service Ramp creates for the stable
	// revision (SMI and Gateway API). Defaults to <service>-stable.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	StableServiceName string `json:"stableServiceName,omitempty"`

	// CanaryServiceName names the Service Ramp creates for the canary
	// revision (SMI and Gateway API). Defaults to <service>-canary.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	CanaryServiceName string `json:"canaryServiceName,omitempty"`
}

// SMIRouting configures the SMI TrafficSplit router.
type SMIRouting struct {
	// TrafficSplitName names the TrafficSplit; Ramp creates it if missing.
	// Defaults to the Rollout's name.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	TrafficSplitName string `json:"trafficSplitName,omitempty"`

	// APIVersion pins the TrafficSplit version to write. Empty: the newest
	// version the cluster serves (linkerd-smi serves v1alpha1 and v1alpha2
	// only).
	// +kubebuilder:validation:Enum=split.smi-spec.io/v1alpha1;split.smi-spec.io/v1alpha2;split.smi-spec.io/v1alpha3;split.smi-spec.io/v1alpha4
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
}

// GatewayAPIRouting configures the Gateway API HTTPRoute router.
type GatewayAPIRouting struct {
	// HTTPRoute names the route. Ramp creates it if missing, attached to
	// Parent, with one rule sending everything to the root Service's port.
	// Defaults to the Rollout's name.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	HTTPRoute string `json:"httpRoute,omitempty"`

	// Rules names the route rules whose backendRefs Ramp manages. Empty:
	// every rule that sends traffic to the root, stable or canary Service.
	// Other rules, and the matches and filters of every rule, stay as they
	// are.
	// +listType=set
	// +optional
	Rules []string `json:"rules,omitempty"`

	// Parent is where a route Ramp creates attaches: the root Service (a
	// mesh route, the default) or a Gateway (an ingress route).
	// +optional
	Parent *ParentRef `json:"parent,omitempty"`
}

// ParentRef is the parent of an HTTPRoute Ramp creates.
type ParentRef struct {
	// Kind is Service (a mesh route) or Gateway (an ingress route).
	// +kubebuilder:validation:Enum=Service;Gateway
	// +kubebuilder:default=Service
	// +optional
	Kind string `json:"kind,omitempty"`
	// Name of the Service or Gateway. Defaults to the root Service.
	// +optional
	Name string `json:"name,omitempty"`
	// Namespace of a Gateway in another namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// SectionName selects a Gateway listener.
	// +optional
	SectionName string `json:"sectionName,omitempty"`
}

// IstioRouting configures the Istio router. The user owns the
// VirtualService and the DestinationRule; Ramp edits only the named route's
// weights and the two subsets' revision labels, and takes its additions back
// when the canary is over.
type IstioRouting struct {
	// VirtualService and the HTTP route in it whose weights Ramp sets.
	VirtualService IstioVirtualService `json:"virtualService"`
	// DestinationRule and its stable and canary subsets.
	DestinationRule IstioDestinationRule `json:"destinationRule"`
	// PercentWeights writes integer percentages that sum to 100, for Istio
	// older than 1.13. Fractional weights are then refused. Istio 1.13 and
	// later read weights as relative (weight / sum), which carries any
	// weight exactly.
	// +optional
	PercentWeights bool `json:"percentWeights,omitempty"`
}

// IstioVirtualService names a VirtualService and one of its HTTP routes.
type IstioVirtualService struct {
	// Name of the VirtualService, in the Rollout's namespace.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// HTTPRouteName names the route (spec.http[].name); it may be omitted
	// when the VirtualService has one HTTP route.
	// +optional
	HTTPRouteName string `json:"httpRouteName,omitempty"`
}

// IstioDestinationRule names a DestinationRule and its two subsets.
//
// +kubebuilder:validation:XValidation:rule="self.stableSubsetName != self.canarySubsetName",message="spec.strategy.canary.trafficRouting.istio.destinationRule: stableSubsetName and canarySubsetName must differ"
type IstioDestinationRule struct {
	// Name of the DestinationRule, in the Rollout's namespace.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// StableSubsetName is the subset of the stable revision (CD-as-a-Service
	// calls it activeSubsetName).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	StableSubsetName string `json:"stableSubsetName"`
	// CanarySubsetName is the subset of the canary revision.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	CanarySubsetName string `json:"canarySubsetName"`
}

// CanaryScale is how many pods the canary runs while a mesh router shapes
// its traffic.
// +kubebuilder:validation:Enum=Proportional;Full
type CanaryScale string

const (
	// CanaryScaleProportional runs the canary at its weight's share of the
	// replicas, at least one pod.
	CanaryScaleProportional CanaryScale = "Proportional"
	// CanaryScaleFull runs the canary at full scale from the first step.
	CanaryScaleFull CanaryScale = "Full"
)
