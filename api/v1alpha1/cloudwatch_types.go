package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// CloudWatchMetric runs Amazon CloudWatch's GetMetricData over the
// metric's interval (the window ends now), with the credentials of the AWS
// SDK's default chain: the controller's pod identity, IRSA's web identity
// token, or its environment.
type CloudWatchMetric struct {
	// Region of the metrics, e.g. eu-west-1. Defaults to the controller's
	// (AWS_REGION).
	// +kubebuilder:validation:Pattern=`^[a-z]{2}(-[a-z]+)+-[0-9]+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Region string `json:"region,omitempty"`

	// Address replaces the region's CloudWatch endpoint, e.g. a VPC
	// endpoint's.
	// +kubebuilder:validation:Pattern=`^(https?://|\{\{)`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Address string `json:"address,omitempty"`

	// Queries are GetMetricData's metric data queries: metrics and math
	// expressions over them. Those whose returnData is true (the default)
	// make the result, each its newest value: one is a scalar, several a
	// vector, in their order here.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=id
	Queries []CloudWatchQuery `json:"queries"`

	// Timeout of the query, all its pages. Defaults to 10s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// CloudWatchQuery is one metric data query: a metric or an expression.
//
// +kubebuilder:validation:XValidation:rule="has(self.expression) != has(self.metricStat)",message="a cloudWatch query sets exactly one of expression and metricStat"
type CloudWatchQuery struct {
	// ID names the query in expressions; it starts with a lower-case
	// letter.
	// +kubebuilder:validation:Pattern=`^[a-z][a-zA-Z0-9_]*$`
	// +kubebuilder:validation:MaxLength=255
	ID string `json:"id"`

	// Expression is a metric math expression over other queries' IDs, e.g.
	// "errors / requests", as a Go template.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Expression string `json:"expression,omitempty"`

	// MetricStat is a metric and how its points are aggregated.
	// +optional
	MetricStat *CloudWatchMetricStat `json:"metricStat,omitempty"`

	// Label of the series in CloudWatch's answer.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Label string `json:"label,omitempty"`

	// ReturnData false leaves the query out of the result: it only feeds
	// an expression. Defaults to true.
	// +optional
	ReturnData *bool `json:"returnData,omitempty"`
}

// CloudWatchMetricStat is a metric, its period and statistic.
type CloudWatchMetricStat struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Namespace string `json:"namespace"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	MetricName string `json:"metricName"`
	// Dimensions of the metric; values are Go templates, e.g.
	// {{.Args.loadBalancer}}.
	// +kubebuilder:validation:MaxItems=30
	// +listType=map
	// +listMapKey=name
	// +optional
	Dimensions []CloudWatchDimension `json:"dimensions,omitempty"`
	// Period of each point, in seconds: 1, 5, 10, 30 or a multiple of 60.
	// Defaults to 60.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Period *int32 `json:"period,omitempty"`
	// Stat is the statistic: Average, Sum, Minimum, Maximum, SampleCount,
	// or a percentile such as p99.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Stat string `json:"stat"`
	// Unit of the metric, when it is published with several.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Unit string `json:"unit,omitempty"`
}

// CloudWatchDimension is a name and value of a metric's dimension.
type CloudWatchDimension struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=1024
	Value string `json:"value"`
}
