package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// NewRelicMetric runs an NRQL query through New Relic's NerdGraph API.
type NewRelicMetric struct {
	// AccountID is the New Relic account the query runs in: its number,
	// or a template such as {{.Args.accountID}}.
	// +kubebuilder:validation:Pattern=`^([1-9][0-9]*|\{\{.+\}\})$`
	// +kubebuilder:validation:MaxLength=256
	AccountID string `json:"accountID"`

	// Region of the account: US (the default, api.newrelic.com) or EU
	// (api.eu.newrelic.com).
	// +kubebuilder:validation:Enum=US;EU
	// +optional
	Region string `json:"region,omitempty"`

	// Address replaces the region's NerdGraph address
	// (https://api.newrelic.com/graphql), for a proxy in between.
	// +kubebuilder:validation:Pattern=`^(https?://|\{\{)`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Address string `json:"address,omitempty"`

	// Query in NRQL, as a Go template with the values a Prometheus query
	// gets, escaped for a single-quoted NRQL string, e.g.
	// SELECT percentage(count(*), WHERE error IS true) FROM Transaction
	// WHERE appName = '{{.Args.app}}' AND tags.version = '{{.CanaryRevision}}' SINCE 5 minutes ago.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Query string `json:"query"`

	// APIKey is a user key (NRAK-...) read from a Secret in the Rollout's
	// namespace.
	APIKey SecretKeyRef `json:"apiKey"`

	// Timeout of the query. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}
