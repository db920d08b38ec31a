package convert

import (
	"strings"
	"testing"
)

var templateCases = []convertCase{
	templateCase("type and metadata", `
metadata:
  labels: {team: shop}
  annotations: {owner: ada, kubectl.kubernetes.io/last-applied-configuration: "{}"}
  uid: 0e7c
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2024-01-01T00:00:00Z"
  deletionTimestamp: "2024-01-02T00:00:00Z"
  deletionGracePeriodSeconds: 30
  managedFields: [{manager: kubectl}]
  selfLink: /apis/argoproj.io/v1alpha1/namespaces/shop/analysistemplates/errors
  finalizers: []
status: {}
`, `
metadata: {name: errors, namespace: shop, labels: {team: shop}, annotations: {owner: ada}}
`),
	templateCase("generateName", `
metadata: {name: null, generateName: errors-}
`, `
metadata: {generateName: errors-}
`),
	refusedTemplate("finalizers and owners", `
metadata:
  finalizers: [example.com/keep]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: x, uid: "1"}]
`, map[string]string{"metadata.finalizers": "controllers", "metadata.ownerReferences": "owner"}),
	templateCase("args and metric settings", `
spec:
  args:
  - {name: service}
  - {name: threshold, value: "0.01"}
  - {name: canary-hash}
  metrics:
  - name: errors
    interval: 1m
    initialDelay: 30s
    count: "5"
    failureLimit: 1
    inconclusiveLimit: 2
    consecutiveErrorLimit: 3
    consecutiveSuccessLimit: 0
    successCondition: "result[0] <= {{args.threshold}}"
    provider: {prometheus: {address: "http://prometheus:9090", query: "sum(rate(errors{service=\"{{args.service}}\",hash=\"{{ args.canary-hash }}\"}[1m]))"}}
`, `
kind: AnalysisTemplate
metadata: {name: errors, namespace: shop}
spec:
  args: [{name: service}, {name: threshold, value: "0.01"}, {name: canary_hash}]
  metrics:
  - name: errors
    interval: 1m0s
    initialDelay: 30s
    count: 5
    failureLimit: 1
    inconclusiveLimit: 2
    consecutiveErrorLimit: 3
    successCondition: "result[0] <= double(args.threshold)"
    provider: {prometheus: {address: "http://prometheus:9090", query: "sum(rate(errors{service=\"{{.Args.service}}\",hash=\"{{.Args.canary_hash}}\"}[1m]))"}}
`),
	templateCase("a metric measured once", `
spec:
  metrics:
  - name: errors
    failureCondition: "isNaN(result) || result > 0.01"
    provider: {prometheus: {address: "http://prometheus:9090", query: up}}
`, `
spec:
  metrics:
  - {name: errors, count: 1, failureCondition: "result > 0.01", emptyResult: Failed}
`),
	refusedTemplate("template settings Ramp has no counterpart for", `
spec:
  args:
  - {name: token, valueFrom: {secretKeyRef: {name: s, key: k}}}
  - {name: app, valueFrom: {fieldRef: {fieldPath: metadata.labels.app}}}
  - {name: my.arg, value: x}
  dryRun: [{metricName: errors}]
  measurementRetention: [{metricName: errors, limit: 10}]
  templates: [{templateName: base}]
  metrics:
  - name: Errors
    failureLimit: -1
    consecutiveSuccessLimit: 3
    successCondition: "default(result, 0) > 1"
    provider: {prometheus: {address: "http://prometheus:9090", query: up}}
  - name: both
    successCondition: result < 1
    failureCondition: result > 2
    provider: {prometheus: {address: "http://prometheus:9090", query: up}}
`, map[string]string{
		"spec.args[0].valueFrom.secretKeyRef":     "not secret",
		"spec.args[1].valueFrom.fieldRef":         "cannot know",
		"spec.args[2].name":                       "rename",
		"spec.dryRun":                             "dry-run",
		"spec.measurementRetention":               "measurement",
		"spec.templates":                          "do not include",
		"spec.metrics[0].name":                    "DNS label",
		"spec.metrics[0].failureLimit":            "unlimited",
		"spec.metrics[0].consecutiveSuccessLimit": "in a row",
		"spec.metrics[0].successCondition":        "with certainty",
		"spec.metrics[1].failureCondition":        "neither",
	}),
}

// TestClusterTemplate: a ClusterAnalysisTemplate becomes Ramp's.
func TestClusterTemplate(t *testing.T) {
	objs := decode(t, strings.Replace(baseTemplate, "kind: AnalysisTemplate", "kind: ClusterAnalysisTemplate", 1))
	got := Objects(objs)[0]
	if got.Out == nil || got.Out.GetKind() != "ClusterAnalysisTemplate" || got.Out.GetAPIVersion() != "ramp.dev/v1alpha1" {
		t.Fatalf("%+v", got)
	}
}
