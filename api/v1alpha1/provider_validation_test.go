package v1alpha1_test

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestProviderAdmission applies AnalysisTemplates of each metric provider
// but Prometheus (TestAnalysisTemplateAdmission) to the API server: a
// valid one is admitted, each mistake refused with a message naming it.
func TestProviderAdmission(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const template = `
apiVersion: ramp.dev/v1alpha1
kind: AnalysisTemplate
metadata: {generateName: errors-}
spec:
  metrics:
  - name: error-rate
    successCondition: result <= 0.01
    provider: {}
`
	provider := func(name string, cfg map[string]any) func(map[string]any) {
		return func(spec map[string]any) {
			spec["metrics"].([]any)[0].(map[string]any)["provider"] = map[string]any{name: cfg}
		}
	}
	keys := func(cfg map[string]any) map[string]any {
		cfg["apiKey"] = map[string]any{"name": "datadog", "key": "api-key"}
		cfg["applicationKey"] = map[string]any{"name": "datadog", "key": "app-key"}
		return cfg
	}
	tests := []struct {
		name    string
		edit    func(spec map[string]any)
		wantErr []string
	}{
		{name: "datadog", edit: provider("datadog", keys(map[string]any{"query": "sum:errors{service:web}", "site": "datadoghq.eu"}))},
		{name: "datadog with a formula", edit: provider("datadog", keys(map[string]any{
			"queries": []any{map[string]any{"name": "errors", "query": "sum:e{*}"}, map[string]any{"name": "hits", "query": "sum:h{*}"}},
			"formula": "errors / hits", "apiVersion": "v2"}))},
		{name: "datadog without keys", edit: provider("datadog", map[string]any{"query": "sum:errors{*}"}),
			wantErr: []string{"spec.metrics[0].provider.datadog.apiKey", "Required value"}},
		{name: "datadog without a query", edit: provider("datadog", keys(map[string]any{})),
			wantErr: []string{"datadog: set query, or queries with a formula"}},
		{name: "datadog queries without a formula", edit: provider("datadog", keys(map[string]any{
			"queries": []any{map[string]any{"name": "a", "query": "sum:e{*}"}}})),
			wantErr: []string{"datadog: queries and formula go together"}},
		{name: "datadog v1 with a formula", edit: provider("datadog", keys(map[string]any{
			"queries": []any{map[string]any{"name": "a", "query": "sum:e{*}"}}, "formula": "a * 100", "apiVersion": "v1"})),
			wantErr: []string{"datadog: apiVersion v1 takes one query and no formula"}},
		{name: "datadog with an empty query", edit: provider("datadog", keys(map[string]any{"query": ""})),
			wantErr: []string{"spec.metrics[0].provider.datadog.query", "at least 1 chars"}},
		{name: "datadog on an unknown site", edit: provider("datadog", keys(map[string]any{"query": "sum:e{*}", "site": "datadoghq.example"})),
			wantErr: []string{"spec.metrics[0].provider.datadog.site", "Unsupported value"}},
		{name: "datadog with a median", edit: provider("datadog", keys(map[string]any{"query": "sum:e{*}", "aggregator": "median"})),
			wantErr: []string{"spec.metrics[0].provider.datadog.aggregator", "Unsupported value"}},
		{name: "newRelic", edit: provider("newRelic", map[string]any{"accountID": "12345", "region": "EU",
			"query": "SELECT count(*) FROM Transaction", "apiKey": map[string]any{"name": "nr", "key": "key"}})},
		{name: "newRelic with a templated account", edit: provider("newRelic", map[string]any{"accountID": "{{.Args.account}}",
			"query": "SELECT count(*) FROM Transaction", "apiKey": map[string]any{"name": "nr", "key": "key"}})},
		{name: "newRelic with an account that is no number", edit: provider("newRelic", map[string]any{"accountID": "12a",
			"query": "SELECT count(*) FROM Transaction", "apiKey": map[string]any{"name": "nr", "key": "key"}}),
			wantErr: []string{"spec.metrics[0].provider.newRelic.accountID", "should match"}},
		{name: "newRelic in another region", edit: provider("newRelic", map[string]any{"accountID": "1", "region": "JP",
			"query": "SELECT count(*) FROM Transaction", "apiKey": map[string]any{"name": "nr", "key": "key"}}),
			wantErr: []string{"spec.metrics[0].provider.newRelic.region", "Unsupported value"}},
		{name: "newRelic without a key", edit: provider("newRelic", map[string]any{"accountID": "1", "query": "SELECT 1"}),
			wantErr: []string{"spec.metrics[0].provider.newRelic.apiKey", "Required value"}},
		{name: "graphite", edit: provider("graphite", map[string]any{"address": "http://graphite:8080",
			"target": "asPercent(web.{{.CanaryRevision}}.errors, web.{{.CanaryRevision}}.requests)"})},
		{name: "graphite without a target", edit: provider("graphite", map[string]any{"address": "http://graphite:8080"}),
			wantErr: []string{"spec.metrics[0].provider.graphite.target", "Required value"}},
		{name: "graphite at an address that is not a URL", edit: provider("graphite", map[string]any{"address": "graphite:8080", "target": "a.b"}),
			wantErr: []string{"spec.metrics[0].provider.graphite.address", "should match"}},
		{name: "job, judged by its outcome", edit: func(s map[string]any) {
			provider("job", map[string]any{"container": map[string]any{"name": "smoke", "image": "tests:v1"}})(s)
			delete(s["metrics"].([]any)[0].(map[string]any), "successCondition")
		}},
		{name: "job without a container", edit: provider("job", map[string]any{}),
			wantErr: []string{"spec.metrics[0].provider.job.container", "Required value"}},
		{name: "graphite without a condition", edit: func(s map[string]any) {
			provider("graphite", map[string]any{"address": "http://graphite:8080", "target": "a.b"})(s)
			delete(s["metrics"].([]any)[0].(map[string]any), "successCondition")
		}, wantErr: []string{"spec.metrics[0]", "needs a successCondition or a failureCondition"}},
		{name: "cloudWatch", edit: provider("cloudWatch", map[string]any{"region": "eu-west-1", "queries": []any{
			map[string]any{"id": "errors", "returnData": false, "metricStat": map[string]any{"namespace": "AWS/ApplicationELB",
				"metricName": "HTTPCode_Target_5XX_Count", "stat": "Sum", "dimensions": []any{map[string]any{"name": "TargetGroup", "value": "{{.Args.tg}}"}}}},
			map[string]any{"id": "rate", "expression": "errors / 60"}}})},
		{name: "cloudWatch query with both", edit: provider("cloudWatch", map[string]any{"queries": []any{
			map[string]any{"id": "a", "expression": "1", "metricStat": map[string]any{"namespace": "n", "metricName": "m", "stat": "Sum"}}}}),
			wantErr: []string{"spec.metrics[0].provider.cloudWatch.queries[0]", "exactly one of expression and metricStat"}},
		{name: "cloudWatch id not lower-case first", edit: provider("cloudWatch", map[string]any{"queries": []any{map[string]any{"id": "Rate", "expression": "1"}}}),
			wantErr: []string{"spec.metrics[0].provider.cloudWatch.queries[0].id", "should match"}},
		{name: "cloudWatch without queries", edit: provider("cloudWatch", map[string]any{"queries": []any{}}),
			wantErr: []string{"spec.metrics[0].provider.cloudWatch.queries", "at least 1 items"}},
		{name: "cloudWatch in no region", edit: provider("cloudWatch", map[string]any{"region": "europe", "queries": []any{map[string]any{"id": "a", "expression": "1"}}}),
			wantErr: []string{"spec.metrics[0].provider.cloudWatch.region", "should match"}},
		{name: "influxDB flux", edit: provider("influxDB", map[string]any{"address": "http://influxdb:8086", "org": "shop",
			"flux": `from(bucket: "app") |> range(start: -1m)`, "token": map[string]any{"name": "influx", "key": "token"}})},
		{name: "influxDB influxQL", edit: provider("influxDB", map[string]any{"address": "http://influxdb:8086", "database": "app",
			"influxQL": "SELECT last(rate) FROM errors"})},
		{name: "influxDB both", edit: provider("influxDB", map[string]any{"address": "http://influxdb:8086", "database": "app",
			"influxQL": "SELECT 1", "flux": "from(bucket: \"a\")"}),
			wantErr: []string{"influxDB: set exactly one of flux and influxQL"}},
		{name: "influxDB with an empty flux query", edit: provider("influxDB", map[string]any{"address": "http://influxdb:8086", "flux": ""}),
			wantErr: []string{"spec.metrics[0].provider.influxDB.flux", "at least 1 chars"}},
		{name: "influxDB influxQL without a database", edit: provider("influxDB", map[string]any{"address": "http://influxdb:8086", "influxQL": "SELECT 1"}),
			wantErr: []string{"influxDB: an influxQL query needs its database"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admit(t, c, ns, template, tt.edit, tt.wantErr)
		})
	}
}
