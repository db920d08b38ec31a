package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// InfluxDBMetric queries InfluxDB: Flux (InfluxDB 2.x, and 1.8 and later
// with Flux on) or InfluxQL (1.x, and 2.x's v1 API). Each series (or
// Flux table) gives its last value.
//
// +kubebuilder:validation:XValidation:rule="has(self.flux) != has(self.influxQL)",message="influxDB: set exactly one of flux and influxQL"
// +kubebuilder:validation:XValidation:rule="!has(self.influxQL) || has(self.database)",message="influxDB: an influxQL query needs its database"
type InfluxDBMetric struct {
	// Address of the server, e.g. http://influxdb.monitoring:8086, or a
	// template such as {{.Args.influxdb}}.
	// +kubebuilder:validation:Pattern=`^(https?://|\{\{)`
	// +kubebuilder:validation:MaxLength=2048
	Address string `json:"address"`

	// Flux is a Flux query, as a Go template with the values a Prometheus
	// query gets, escaped for a quoted string, e.g.
	// from(bucket: "app") |> range(start: -1m) |> filter(fn: (r) => r.revision == "{{.CanaryRevision}}").
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	// +optional
	Flux string `json:"flux,omitempty"`

	// Org of the Flux query (InfluxDB 2.x; 1.x ignores it).
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Org string `json:"org,omitempty"`

	// InfluxQL is an InfluxQL query, as a Go template, values escaped for
	// a quoted string, e.g.
	// SELECT mean(errors) FROM requests WHERE revision = '{{.CanaryRevision}}' AND time > now() - 1m.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	// +optional
	InfluxQL string `json:"influxQL,omitempty"`

	// Database of the InfluxQL query.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Database string `json:"database,omitempty"`

	// Token is read from a Secret in the Rollout's namespace: an API token
	// (2.x), or username:password (1.x with authentication on).
	// +optional
	Token *SecretKeyRef `json:"token,omitempty"`

	// Timeout of the query. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// TLS settings for an https address.
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
}
