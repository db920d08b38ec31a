package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// GraphiteMetric reads a target from Graphite's render API over the
// metric's interval (the window ends now): each series' last point that
// has a value.
type GraphiteMetric struct {
	// Address of the render API's server, e.g.
	// http://graphite.monitoring:8080, or a template such as
	// {{.Args.graphite}}; Ramp calls <address>/render.
	// +kubebuilder:validation:Pattern=`^(https?://|\{\{)`
	// +kubebuilder:validation:MaxLength=2048
	Address string `json:"address"`

	// Target is a Graphite target, as a Go template with the values a
	// Prometheus query gets (characters outside a metric path's become _),
	// e.g. asPercent(web.{{.CanaryRevision}}.errors, web.{{.CanaryRevision}}.requests).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Target string `json:"target"`

	// Timeout of the request. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Headers sent with the request, their values literal or from Secrets.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Headers []Header `json:"headers,omitempty"`

	// TLS settings for an https address.
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`
}
