// Package deployfile reads a CD-as-a-Service deploy file (its YAML format
// for deployments, strategies, analysis and webhooks) and turns it into
// Ramp's objects: a Deployment deployed with a canary or blue/green
// strategy becomes a Rollout, analysis queries become an AnalysisTemplate,
// webhooks become webhook steps. docs/deploy-file.md has the mapping, field by field. Fields Ramp
// does not support are errors that name them, never silently dropped.
package deployfile

// File is a deploy file.
type File struct {
	Version           string              `json:"version"`
	Kind              string              `json:"kind"`
	Application       string              `json:"application"`
	DeploymentConfig  *DeploymentConfig   `json:"deploymentConfig,omitempty"`
	Targets           map[string]Target   `json:"targets"`
	Manifests         []Manifest          `json:"manifests"`
	Strategies        map[string]Strategy `json:"strategies"`
	Analysis          *Analysis           `json:"analysis,omitempty"`
	Webhooks          []Webhook           `json:"webhooks,omitempty"`
	TrafficManagement []TrafficManagement `json:"trafficManagement,omitempty"`
}

// DeploymentConfig holds deployment-wide settings.
type DeploymentConfig struct {
	Timeout                *Duration `json:"timeout,omitempty"`
	KeepDeploymentObject   *bool     `json:"keepDeploymentObject,omitempty"`
	IfDeploymentInProgress *struct {
		Strategy string `json:"strategy"`
	} `json:"ifDeploymentInProgress,omitempty"`
}

// Duration is {duration: N, unit: seconds|minutes|hours}.
type Duration struct {
	Duration int    `json:"duration"`
	Unit     string `json:"unit"`
}

// Target is a cluster and namespace to deploy to.
type Target struct {
	Account     string       `json:"account"`
	Namespace   string       `json:"namespace"`
	Strategy    string       `json:"strategy"`
	Constraints *Constraints `json:"constraints,omitempty"`
}

// Constraints order targets and gate them. A gate is a pause, a
// runWebhook or (after deployment) an analysis, written as a canary step.
type Constraints struct {
	DependsOn        []string `json:"dependsOn,omitempty"`
	BeforeDeployment []Step   `json:"beforeDeployment,omitempty"`
	AfterDeployment  []Step   `json:"afterDeployment,omitempty"`
}

// Manifest is a file (or folder) of manifests, or inline ones.
type Manifest struct {
	Path    string   `json:"path,omitempty"`
	Inline  string   `json:"inline,omitempty"`
	Targets []string `json:"targets,omitempty"`
}

// Strategy is a canary or a blue/green.
type Strategy struct {
	Canary    *Canary    `json:"canary,omitempty"`
	BlueGreen *BlueGreen `json:"blueGreen,omitempty"`
}

// BlueGreen runs the new version behind a preview Service and redirects
// the active Service to it after the redirectTrafficAfter steps; the old
// version shuts down after the shutDownOldVersionAfter steps. The Services
// may be named here or in trafficManagement's kubernetes entries.
type BlueGreen struct {
	ActiveService           string `json:"activeService,omitempty"`
	PreviewService          string `json:"previewService,omitempty"`
	RedirectTrafficAfter    []Step `json:"redirectTrafficAfter,omitempty"`
	ShutDownOldVersionAfter []Step `json:"shutDownOldVersionAfter,omitempty"`
}

// Canary is a list of steps.
type Canary struct {
	Steps []Step `json:"steps"`
}

// Step is one canary step; exactly one field is set.
type Step struct {
	SetWeight      *SetWeight    `json:"setWeight,omitempty"`
	Pause          *Pause        `json:"pause,omitempty"`
	Analysis       *AnalysisStep `json:"analysis,omitempty"`
	RunWebhook     *RunWebhook   `json:"runWebhook,omitempty"`
	ExposeServices any           `json:"exposeServices,omitempty"`
}

// SetWeight is {weight: N}; `setWeight: N` is read too.
type SetWeight struct {
	Weight int `json:"weight"`
}

// Pause waits a duration or until approved.
type Pause struct {
	Duration           int       `json:"duration,omitempty"`
	Unit               string    `json:"unit,omitempty"`
	UntilApproved      bool      `json:"untilApproved,omitempty"`
	ApprovalExpiration *Duration `json:"approvalExpiration,omitempty"`
}

// AnalysisStep runs named queries.
type AnalysisStep struct {
	MetricProviderName   string            `json:"metricProviderName,omitempty"`
	Context              map[string]string `json:"context,omitempty"`
	Interval             int               `json:"interval"`
	Units                string            `json:"units"`
	NumberOfJudgmentRuns int               `json:"numberOfJudgmentRuns"`
	RollBackMode         string            `json:"rollBackMode,omitempty"`
	RollForwardMode      string            `json:"rollForwardMode,omitempty"`
	Queries              []string          `json:"queries"`
	LookbackMethod       string            `json:"lookbackMethod,omitempty"`
}

// RunWebhook calls a webhook by name.
type RunWebhook struct {
	Name    string            `json:"name"`
	Context map[string]string `json:"context,omitempty"`
}

// Analysis holds the named queries.
type Analysis struct {
	DefaultMetricProviderName string  `json:"defaultMetricProviderName,omitempty"`
	Queries                   []Query `json:"queries"`
}

// Query is a PromQL query with limits.
type Query struct {
	Name               string   `json:"name"`
	QueryTemplate      string   `json:"queryTemplate"`
	UpperLimit         *float64 `json:"upperLimit,omitempty"`
	LowerLimit         *float64 `json:"lowerLimit,omitempty"`
	MetricProviderName string   `json:"metricProviderName,omitempty"`
}

// Webhook is a named HTTP call.
type Webhook struct {
	Name            string   `json:"name"`
	Method          string   `json:"method"`
	URITemplate     string   `json:"uriTemplate"`
	NetworkMode     string   `json:"networkMode,omitempty"`
	AgentIdentifier string   `json:"agentIdentifier,omitempty"`
	Headers         []Header `json:"headers,omitempty"`
	BodyTemplate    *struct {
		Inline string `json:"inline"`
	} `json:"bodyTemplate,omitempty"`
	RetryCount      int  `json:"retryCount,omitempty"`
	DisableCallback bool `json:"disableCallback,omitempty"`
}

// Header is a key and a value.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TrafficManagement routes the targets' canaries.
type TrafficManagement struct {
	Targets    []string     `json:"targets,omitempty"`
	SMI        []SMI        `json:"smi,omitempty"`
	Istio      []Istio      `json:"istio,omitempty"`
	Kubernetes []Kubernetes `json:"kubernetes,omitempty"`
}

// Kubernetes names a blue/green's active and preview Services.
type Kubernetes struct {
	ActiveService  string `json:"activeService"`
	PreviewService string `json:"previewService,omitempty"`
}

// SMI names the root Service and what Ramp creates.
type SMI struct {
	RootServiceName   string `json:"rootServiceName"`
	CanaryServiceName string `json:"canaryServiceName,omitempty"`
	TrafficSplitName  string `json:"trafficSplitName,omitempty"`
}

// Istio names the VirtualService and DestinationRule.
type Istio struct {
	VirtualService struct {
		Name          string `json:"name"`
		HTTPRouteName string `json:"httpRouteName,omitempty"`
	} `json:"virtualService"`
	DestinationRule struct {
		Name             string `json:"name"`
		ActiveSubsetName string `json:"activeSubsetName"`
		CanarySubsetName string `json:"canarySubsetName"`
	} `json:"destinationRule"`
}
