package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// DatadogMetric queries Datadog's metrics over the metric's interval (the
// window ends now), reduced to one value per series by aggregator.
//
// +kubebuilder:validation:XValidation:rule="has(self.query) != has(self.queries)",message="datadog: set query, or queries with a formula that combines them"
// +kubebuilder:validation:XValidation:rule="has(self.queries) == has(self.formula)",message="datadog: queries and formula go together (formula: a / b, with queries named a and b)"
// +kubebuilder:validation:XValidation:rule="!has(self.apiVersion) || self.apiVersion != 'v1' || has(self.query)",message="datadog: apiVersion v1 takes one query and no formula; use v2 for queries with a formula"
type DatadogMetric struct {
	// Site is the Datadog site of the account: datadoghq.com (US1, the
	// default), us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu (EU1),
	// ap1.datadoghq.com, ap2.datadoghq.com, ddog-gov.com (US1-FED),
	// us2.ddog-gov.com or uk1.datadoghq.com. Ramp calls https://api.<site>.
	// +kubebuilder:validation:Enum=datadoghq.com;us3.datadoghq.com;us5.datadoghq.com;datadoghq.eu;ap1.datadoghq.com;ap2.datadoghq.com;ddog-gov.com;us2.ddog-gov.com;uk1.datadoghq.com
	// +optional
	Site string `json:"site,omitempty"`

	// Address replaces https://api.<site>, for a proxy in between.
	// +kubebuilder:validation:Pattern=`^(https?://|\{\{)`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Address string `json:"address,omitempty"`

	// Query is a metrics query, as a Go template with the values a
	// Prometheus query gets, e.g.
	// sum:trace.http.request.errors{service:{{.Args.service}},version:{{.CanaryRevision}}}.as_count().
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	// +optional
	Query string `json:"query,omitempty"`

	// Queries are named metrics queries that Formula combines.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	// +optional
	Queries []DatadogQuery `json:"queries,omitempty"`

	// Formula combines Queries by name, e.g. "errors / hits".
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Formula string `json:"formula,omitempty"`

	// Aggregator reduces each series over the window to one value: avg,
	// min, max, sum, last (the default), percentile, mean, l2norm or area.
	// The v1 API takes the last point of each series instead.
	// +kubebuilder:validation:Enum=avg;min;max;sum;last;percentile;mean;l2norm;area
	// +optional
	Aggregator string `json:"aggregator,omitempty"`

	// APIVersion picks the query API: v2 (the scalar query API) or v1 (the
	// older timeseries query). Absent, Ramp uses v2 and, for an account
	// where that API is not found, v1 for a single query.
	// +kubebuilder:validation:Enum=v1;v2
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// APIKey and ApplicationKey are read from Secrets in the Rollout's
	// namespace (DD-API-KEY, DD-APPLICATION-KEY); the application key
	// needs the timeseries_query permission.
	APIKey         SecretKeyRef `json:"apiKey"`
	ApplicationKey SecretKeyRef `json:"applicationKey"`

	// Timeout of the query. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// DatadogQuery is one named query of a formula.
type DatadogQuery struct {
	// Name the formula uses.
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9_]*$`
	// +kubebuilder:validation:MaxLength=32
	Name string `json:"name"`
	// Query is a metrics query, as a Go template.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Query string `json:"query"`
}
