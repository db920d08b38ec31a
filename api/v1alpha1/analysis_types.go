package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnalysisTemplate defines metric checks that Rollouts in its namespace run
// during a canary: a query, how often to run it, and the conditions its
// result must meet.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=rat,categories=ramp
// +kubebuilder:printcolumn:name="Metrics",type=string,JSONPath=`.spec.metrics[*].name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// ClusterAnalysisTemplate is an AnalysisTemplate every namespace can use.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=rcat,categories=ramp
// +kubebuilder:printcolumn:name="Metrics",type=string,JSONPath=`.spec.metrics[*].name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// AnalysisTemplateSpec is a set of metrics and the arguments their queries
// take.
type AnalysisTemplateSpec struct {
	// Args are values the queries use as {{.Args.name}}; one without a
	// value must be given by the Rollout.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Args []Argument `json:"args,omitempty"`

	// Metrics are checked together; the analysis fails when one fails.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Metrics []Metric `json:"metrics"`
}

// Argument is a named value for query templates.
type Argument struct {
	// Name as used in templates: {{.Args.<name>}}.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Value of the argument; a template's default, or the Rollout's.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Value *string `json:"value,omitempty"`
}

// EmptyResult says how to judge a measurement with no data: an empty
// vector or NaN.
// +kubebuilder:validation:Enum=Inconclusive;Successful;Failed
type EmptyResult string

// How empty results are judged.
const (
	EmptyInconclusive EmptyResult = "Inconclusive"
	EmptySuccessful   EmptyResult = "Successful"
	EmptyFailed       EmptyResult = "Failed"
)

// Metric is one check, measured count times, interval apart.
//
// +kubebuilder:validation:XValidation:rule="has(self.successCondition) || has(self.failureCondition) || has(self.provider.job)",message="a metric needs a successCondition or a failureCondition (CEL, e.g. result <= 0.01)"
type Metric struct {
	// Name of the metric, unique in its template.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Interval between measurements. Defaults to 30s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Count is the number of judged measurements (successful or failed)
	// the metric takes. Inconclusive measurements and errors, within their
	// limits, are taken again at the next interval and do not count. In an
	// analysis step it defaults to 1; in a background analysis, absent
	// means measure until the canary ends.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	Count *int32 `json:"count,omitempty"`

	// InitialDelay before the first measurement.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	InitialDelay *metav1.Duration `json:"initialDelay,omitempty"`

	// FailureLimit is how many failed measurements are tolerated; one
	// more fails the metric. Defaults to 0.
	// +kubebuilder:validation:Minimum=0
	// +optional
	FailureLimit *int32 `json:"failureLimit,omitempty"`

	// InconclusiveLimit is how many inconclusive measurements are
	// tolerated; one more makes the metric inconclusive, which pauses the
	// canary for a person to decide. Defaults to 0.
	// +kubebuilder:validation:Minimum=0
	// +optional
	InconclusiveLimit *int32 `json:"inconclusiveLimit,omitempty"`

	// ConsecutiveErrorLimit is how many measurements in a row may fail to
	// be taken (provider down, bad query, timeout); one more fails the
	// metric. Defaults to 4.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ConsecutiveErrorLimit *int32 `json:"consecutiveErrorLimit,omitempty"`

	// SuccessCondition is a CEL expression over result that must hold,
	// e.g. "result <= 0.01" for a scalar or "result[0] <= 0.01" for a
	// vector. The run's arguments are there as args, strings:
	// "result <= double(args.maxErrorRate)".
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`

	// FailureCondition is a CEL expression over result that fails the
	// measurement when it holds; it is checked first.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`

	// EmptyResult judges a measurement that returned no data (an empty
	// vector, NaN). Defaults to Inconclusive.
	// +optional
	EmptyResult EmptyResult `json:"emptyResult,omitempty"`

	// Provider says where the measurement comes from.
	Provider MetricProvider `json:"provider"`
}

// MetricProvider is where a metric is measured. Exactly one is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.prometheus), has(self.web), has(self.datadog), has(self.newRelic), has(self.graphite), has(self.job), has(self.cloudWatch), has(self.influxDB)].exists_one(x, x)",message="a metric's provider sets exactly one of prometheus, web, datadog, newRelic, graphite, cloudWatch, influxDB and job"
type MetricProvider struct {
	// Prometheus runs an instant query.
	// +optional
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
	// Web fetches a JSON document and reads one value from it.
	// +optional
	Web *WebMetric `json:"web,omitempty"`
	// Datadog runs a metrics query on Datadog.
	// +optional
	Datadog *DatadogMetric `json:"datadog,omitempty"`
	// NewRelic runs an NRQL query.
	// +optional
	NewRelic *NewRelicMetric `json:"newRelic,omitempty"`
	// Graphite reads a target from Graphite's render API.
	// +optional
	Graphite *GraphiteMetric `json:"graphite,omitempty"`
	// CloudWatch runs Amazon CloudWatch's GetMetricData.
	// +optional
	CloudWatch *CloudWatchMetric `json:"cloudWatch,omitempty"`
	// InfluxDB runs a Flux or InfluxQL query.
	// +optional
	InfluxDB *InfluxDBMetric `json:"influxDB,omitempty"`
	// Job runs a test in the cluster for each measurement: the Job's
	// success or failure is the result (result.succeeded), and without
	// conditions its verdict. The same Job as a job step's.
	// +optional
	Job *JobHook `json:"job,omitempty"`
}

// PrometheusMetric is an instant PromQL query.
type PrometheusMetric struct {
	// Address of the Prometheus server, e.g. http://prometheus.monitoring:9090,
	// or a template such as {{.Args.prometheus}}.
	// +kubebuilder:validation:Pattern=`^(https?://|\{\{)`
	// +kubebuilder:validation:MaxLength=2048
	Address string `json:"address"`

	// Query in PromQL, as a Go template: {{.Namespace}}, {{.Rollout}},
	// {{.StableRevision}}, {{.CanaryRevision}}, {{.StableService}},
	// {{.CanaryService}}, {{.StablePods}} and {{.CanaryPods}} (regular
	// expressions matching the pods of each revision) and {{.Args.<name>}}.
	// Values are escaped for use inside a double-quoted label matcher.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Query string `json:"query"`

	// Timeout of the query. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Headers sent with the query, their values literal or from Secrets.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Headers []Header `json:"headers,omitempty"`

	// BearerTokenSecret sends "Authorization: Bearer <token>" with the
	// token read from a Secret in the Rollout's namespace.
	// +optional
	BearerTokenSecret *SecretKeyRef `json:"bearerTokenSecret,omitempty"`

	// TLS settings for an https address.
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
}

// WebMetric fetches a JSON document with an HTTP GET.
type WebMetric struct {
	// URL as a Go template, with the values a Prometheus query gets
	// (escaped for a URL query).
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// JSONPath picks the value from the response, e.g. "{.data.errorRate}".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	JSONPath string `json:"jsonPath"`

	// Timeout of the request. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Headers sent with the request.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Headers []Header `json:"headers,omitempty"`

	// TLS settings for an https URL.
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
}

// Header is an HTTP header with a literal value or one from a Secret.
//
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.valueFrom)",message="a header sets exactly one of value and valueFrom"
type Header struct {
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Value *string `json:"value,omitempty"`
	// ValueFrom reads the value from a Secret in the Rollout's namespace;
	// it never appears in status, events or logs.
	// +optional
	ValueFrom *SecretKeyRef `json:"valueFrom,omitempty"`
}

// SecretKeyRef names a key of a Secret in the Rollout's namespace.
type SecretKeyRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// TLSConfig is how a provider checks the server it talks to.
type TLSConfig struct {
	// CASecret holds the CA certificate (PEM) that signs the server's.
	// +optional
	CASecret *SecretKeyRef `json:"caSecret,omitempty"`
	// ServerName to verify, when it differs from the address's host.
	// +optional
	ServerName string `json:"serverName,omitempty"`
	// InsecureSkipVerify turns verification off. For tests only.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// AnalysisStep runs analysis templates and waits for their verdict.
type AnalysisStep struct {
	// Templates to run together.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	Templates []TemplateRef `json:"templates"`
	// Args for the templates' queries.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Args []Argument `json:"args,omitempty"`
}

// TemplateRef names an AnalysisTemplate, or a ClusterAnalysisTemplate.
type TemplateRef struct {
	// +kubebuilder:validation:MinLength=1
	TemplateName string `json:"templateName"`
	// ClusterScope picks a ClusterAnalysisTemplate.
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
}

// BackgroundAnalysis runs while the canary goes through its steps, and
// rolls it back the moment it fails.
type BackgroundAnalysis struct {
	AnalysisStep `json:",inline"`
	// StartingStep is the index of the step from which the analysis runs.
	// Defaults to the step after the first setWeight, once the canary has
	// traffic to measure.
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartingStep *int32 `json:"startingStep,omitempty"`
}

func init() {
	knownTypes = append(knownTypes, &AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{})
}

// +kubebuilder:object:root=true

// AnalysisTemplateList is a list of AnalysisTemplates.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

// +kubebuilder:object:root=true

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplates.
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}
