package deployfile

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/hooks"
	"github.com/rampcd/ramp/internal/outbound"
)

const base = `version: v1
kind: kubernetes
application: shop
targets:
  staging: {account: dev, namespace: shop-staging, strategy: canary}
  prod:
    account: prod-cluster
    namespace: shop
    strategy: canary
    constraints: {dependsOn: [staging]}
manifests:
- inline: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 4
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: web:v2}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {selector: {app: web}, ports: [{port: 80}]}
strategies:
  canary:
    canary:
      steps:
      - setWeight: {weight: 25}
      - analysis:
          metricProviderName: prom
          context: {owner: team-a}
          interval: 30
          units: seconds
          numberOfJudgmentRuns: 3
          queries: [error-rate]
      - runWebhook: {name: smoke, context: {suite: quick}}
      - pause: {duration: 2, unit: minutes}
      - setWeight: 50
      - pause: {untilApproved: true}
analysis:
  queries:
  - name: error-rate
    upperLimit: 0.01
    queryTemplate: >-
      sum(rate(http_requests_total{namespace="{{armory.namespace}}", owner="{{context.owner}}", code=~"5.."}[{{armory.promQlStepInterval}}]))
webhooks:
- name: smoke
  method: POST
  uriTemplate: https://ci.example/run?app={{armory.applicationName}}&env={{armory.environmentName}}&suite={{context.suite}}
  headers: [{key: X-Team, value: shop}]
  bodyTemplate: {inline: '{"callback": "{{armory.callbackUri}}"}'}
  retryCount: 2
trafficManagement:
- targets: [prod]
  smi: [{rootServiceName: web, canaryServiceName: web-next, trafficSplitName: web-split}]
`

func translate(t *testing.T, doc string) (*Plan, error) {
	t.Helper()
	f, err := Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	return Translate(f, Options{MetricProviders: map[string]string{"prom": "http://prometheus:9090"}})
}

func TestTranslate(t *testing.T) {
	plan, err := translate(t, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Targets) != 2 || plan.Targets[0].Name != "staging" || plan.Targets[1].Name != "prod" {
		t.Fatalf("targets %+v, want staging then prod (dependsOn)", plan.Targets)
	}
	prod := plan.Targets[1]
	kinds := map[string]int{}
	for _, o := range prod.Objects {
		kinds[o.GetKind()]++
		if o.GetNamespace() != "shop" {
			t.Errorf("%s %s in namespace %q, want shop", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	if kinds["Rollout"] != 1 || kinds["Service"] != 1 || kinds["AnalysisTemplate"] != 1 || kinds["Deployment"] != 0 {
		t.Fatalf("objects %v: the Deployment becomes a Rollout, the query an AnalysisTemplate", kinds)
	}
	var ro rampv1.Rollout
	var tmpl rampv1.AnalysisTemplate
	for _, o := range prod.Objects {
		switch o.GetKind() {
		case "Rollout":
			decode(t, o.Object, &ro)
		case "AnalysisTemplate":
			decode(t, o.Object, &tmpl)
		}
	}
	steps := ro.Spec.Strategy.Canary.Steps
	summaries := make([]string, len(steps))
	for i, s := range steps {
		summaries[i] = s.Summary()
	}
	if got := strings.Join(summaries, "; "); got != "setWeight 25%; analysis web-step-1; webhook POST https://ci.example/run; pause 2m0s; setWeight 50%; pause until promoted" {
		t.Errorf("steps: %s", got)
	}
	if *ro.Spec.Replicas != 4 || ro.Spec.Template.Spec.Containers[0].Image != "web:v2" || ro.Spec.Service != "web" {
		t.Errorf("rollout spec: %+v", ro.Spec)
	}
	tr := ro.Spec.Strategy.Canary.TrafficRouting
	if tr == nil || tr.SMI == nil || tr.SMI.TrafficSplitName != "web-split" || tr.CanaryServiceName != "web-next" {
		t.Errorf("traffic routing: %+v", tr)
	}
	m := tmpl.Spec.Metrics[0]
	wantQuery := `sum(rate(http_requests_total{namespace="{{.Namespace}}", owner="{{.Args.owner}}", code=~"5.."}[30s]))`
	if m.Provider.Prometheus.Query != wantQuery || m.Provider.Prometheus.Address != "http://prometheus:9090" ||
		m.SuccessCondition != "type(result) == list ? size(result) == 1 && result[0] <= 0.01 : result <= 0.01" || *m.Count != 3 || m.Interval.Duration != 30*time.Second {
		t.Errorf("metric: %+v %+v", m, m.Provider.Prometheus)
	}
	if len(tmpl.Spec.Args) != 1 || tmpl.Spec.Args[0].Name != "owner" || *tmpl.Spec.Args[0].Value != "team-a" {
		t.Errorf("args: %+v", tmpl.Spec.Args)
	}
	w := steps[2].Webhook
	if w.URL != "https://ci.example/run?app=shop&env=prod&suite=quick" || w.Body != `{"callback": "{{.CallbackURL}}"}` ||
		*w.Retries != 2 || w.Callback == nil || *w.Headers[0].Value != "shop" {
		t.Errorf("webhook: %+v", w)
	}
	// Staging has no traffic management: pod ratio.
	for _, o := range plan.Targets[0].Objects {
		if o.GetKind() == "Rollout" {
			if _, found, _ := unstructuredField(o.Object, "spec", "strategy", "canary", "trafficRouting"); found {
				t.Error("staging got prod's traffic management")
			}
		}
	}
}

// decode reads an object as the API server would: through its JSON.
func decode(t *testing.T, obj map[string]any, into any) {
	t.Helper()
	data, err := json.Marshal(obj)
	if err == nil {
		err = json.Unmarshal(data, into)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func unstructuredField(obj map[string]any, path ...string) (any, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		if cur, ok = m[p]; !ok {
			return nil, false, nil
		}
	}
	return cur, true, nil
}

// TestTranslateEscapes: values known now are escaped for where they go,
// and cannot pass for template actions.
func TestTranslateEscapes(t *testing.T) {
	doc := strings.Replace(base, "context: {suite: quick}", `context: {suite: 'he said "hi" & {{x}}'}`, 1)
	doc = strings.Replace(doc, `bodyTemplate: {inline: '{"callback": "{{armory.callbackUri}}"}'}`,
		`bodyTemplate: {inline: '{"suite": "{{context.suite}}"}'}`, 1)
	plan, err := translate(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	var ro rampv1.Rollout
	for _, o := range plan.Targets[1].Objects {
		if o.GetKind() == "Rollout" {
			decode(t, o.Object, &ro)
		}
	}
	w := ro.Spec.Strategy.Canary.Steps[2].Webhook
	body, err := hooks.Values{}.Render("body", w.Body, outbound.JSONEscape)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil || got["suite"] != `he said "hi" & {{x}}` {
		t.Errorf("body %s: %v", body, err)
	}
	url, err := hooks.Values{}.Render("url", w.URL, outbound.URLEscape)
	if err != nil || !strings.HasSuffix(url, "suite=he+said+%22hi%22+%26+%7B%7Bx%7D%7D") {
		t.Errorf("url %s: %v", url, err)
	}
}

// TestTranslateErrors: each unsupported or wrong field is an error naming
// it.
func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"a typo", "retryCount: 2", "retryCont: 2", `unknown field "webhooks[0].retryCont"`},
		{"blue/green", "strategies:\n  canary:\n    canary:", "strategies:\n  bg:\n    blueGreen: {activeService: web}\n  canary:\n    canary:", ""},
		{"exposeServices", "- pause: {duration: 2, unit: minutes}", "- exposeServices: {services: [web]}", "strategies.canary.canary.steps[3].exposeServices: not supported"},
		{"manual rollback", "numberOfJudgmentRuns: 3", "numberOfJudgmentRuns: 3\n          rollBackMode: manual", "strategies.canary.canary.steps[1].analysis: manual rollBackMode"},
		{"no provider", "metricProviderName: prom\n          context", "context", "query error-rate: no metric provider: set the step's metricProviderName"},
		{"an unknown provider", "metricProviderName: prom", "metricProviderName: datadog", `metric provider "datadog" has no address: give it with --metric-provider datadog=`},
		{"an unknown variable", "{{armory.namespace}}", "{{armory.deploymentId}}", "{{armory.deploymentId}}: not a variable Ramp supports"},
		{"a time variable", "{{armory.namespace}}", "{{armory.startTimeIso8601}}", "{{armory.startTimeIso8601}}: Ramp runs instant queries"},
		{"a secret", "value: shop}", "value: '{{secrets.token}}'}", "webhooks[0].headers[0].value: {{secrets.token}}: secrets are not supported"},
		{"a context key missing", "suite={{context.suite}}", "suite={{context.nope}}", `webhooks[0].uriTemplate: {{context.nope}}: the step's context has no "nope"`},
		{"a bad unit", "unit: minutes}", "unit: days}", "strategies.canary.canary.steps[3].pause: a pause needs a duration and unit"},
		{"a weight over 100", "weight: 25", "weight: 250", "strategies.canary.canary.steps[0].setWeight.weight: 250: must be 0 to 100"},
		{"a cycle", "strategy: canary}", "strategy: canary, constraints: {dependsOn: [prod]}}", "dependsOn makes a cycle"},
		{"a missing strategy", "strategy: canary}", "strategy: fast}", `targets.staging.strategy: "fast" is not in strategies`},
		{"a remote agent", "retryCount: 2", "retryCount: 2\n  networkMode: remoteNetworkAgent", "webhooks[0].networkMode: remoteNetworkAgent is not supported"},
		{"a gate until approved", "constraints: {dependsOn: [staging]}", "constraints: {dependsOn: [staging], beforeDeployment: [{pause: {untilApproved: true}}]}", "targets.prod.constraints.beforeDeployment[0].pause.untilApproved: not supported in constraints"},
		{"a gate that sets a weight", "constraints: {dependsOn: [staging]}", "constraints: {afterDeployment: [{setWeight: 5}]}", "targets.prod.constraints.afterDeployment[0]: a constraint is a pause, a runWebhook or (afterDeployment) an analysis"},
		{"an analysis before deployment", "constraints: {dependsOn: [staging]}", "constraints: {beforeDeployment: [{analysis: {interval: 1, units: minutes, numberOfJudgmentRuns: 1, queries: [error-rate]}}]}", "targets.prod.constraints.beforeDeployment[0].analysis: beforeDeployment has no new version"},
		{"a gate's unknown webhook", "constraints: {dependsOn: [staging]}", "constraints: {beforeDeployment: [{runWebhook: {name: nope}}]}", `targets.prod.constraints.beforeDeployment[0].runWebhook.name: "nope" is not in webhooks`},
		{"an unknown webhook", "name: smoke, context", "name: smok, context", `runWebhook.name: "smok" is not in webhooks`},
		{"an unknown query", "queries: [error-rate]", "queries: [errors]", `queries[0]: "errors" is not in analysis.queries`},
		{"no limits", "upperLimit: 0.01", "", "query error-rate: upperLimit or lowerLimit is required"},
		{"a bad context key", "context: {owner: team-a}", "context: {team-name: a}", "analysis.context.team-name: an analysis context key must be"},
		{"a step value in a header", "value: shop}", "value: '{{armory.callbackUri}}'}", "header values are sent as written"},
		{"a manifest for no target", "- inline: |", "- targets: [prd]\n  inline: |", `manifests[0].targets: "prd" is not a target`},
		{"traffic for no target", "- targets: [prod]\n  smi", "- targets: [prd]\n  smi", `trafficManagement[0].targets: "prd" is not a target`},
		{"a paused Deployment", "replicas: 4", "replicas: 4\n      paused: true", ""},
		{"an smi root Service that selects no Deployment", "spec: {selector: {app: web}, ports", "spec: {selector: {app: api}, ports",
			`trafficManagement[0].smi[0].rootServiceName: Service "web" selects no Deployment of target prod (web), so their canaries would shift traffic by pod ratio`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(base, tt.from, tt.to, 1)
			if doc == base {
				t.Fatalf("%q is not in the base file", tt.from)
			}
			_, err := translate(t, doc)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("a strategy no target uses is refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestTranslateMore covers the fields the base file leaves out.
func TestTranslateMore(t *testing.T) {
	doc := strings.Replace(base, "smi: [{rootServiceName: web, canaryServiceName: web-next, trafficSplitName: web-split}]",
		"istio: [{virtualService: {name: web, httpRouteName: primary}, destinationRule: {name: web, activeSubsetName: stable, canarySubsetName: canary}}]", 1)
	doc = strings.Replace(doc, "application: shop\n", "application: shop\ndeploymentConfig: {timeout: {duration: 30, unit: minutes}}\n", 1)
	doc = strings.Replace(doc, "      replicas: 4\n", "      replicas: 4\n      paused: true\n      strategy: {rollingUpdate: {maxSurge: 2, maxUnavailable: 0}}\n", 1)
	plan, err := translate(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Timeout != 30*time.Minute {
		t.Errorf("timeout %s", plan.Timeout)
	}
	var ro rampv1.Rollout
	for _, o := range plan.Targets[1].Objects {
		if o.GetKind() == "Rollout" {
			decode(t, o.Object, &ro)
		}
	}
	is := ro.Spec.Strategy.Canary.TrafficRouting
	if is == nil || is.Istio == nil || is.Istio.VirtualService.Name != "web" || is.Istio.VirtualService.HTTPRouteName != "primary" ||
		is.Istio.DestinationRule.StableSubsetName != "stable" || is.Istio.DestinationRule.CanarySubsetName != "canary" || ro.Spec.Service != "web" {
		t.Errorf("istio routing %+v, service %q", is, ro.Spec.Service)
	}
	c := ro.Spec.Strategy.Canary
	if !ro.Spec.Paused || c.MaxSurge.IntValue() != 2 || c.MaxUnavailable.IntValue() != 0 {
		t.Errorf("paused %v, maxSurge %v, maxUnavailable %v", ro.Spec.Paused, c.MaxSurge, c.MaxUnavailable)
	}
}

// TestTranslateGates: constraints become gates the client runs, in order,
// with their webhook and analysis translated as steps are.
func TestTranslateGates(t *testing.T) {
	doc := strings.Replace(base, "constraints: {dependsOn: [staging]}", `constraints:
      dependsOn: [staging]
      beforeDeployment:
      - pause: {duration: 30, unit: seconds}
      - runWebhook: {name: smoke, context: {suite: change-freeze}}
      afterDeployment:
      - analysis: {interval: 1, units: minutes, numberOfJudgmentRuns: 2, queries: [error-rate], context: {owner: sre}, metricProviderName: prom}`, 1)
	plan, err := translate(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	prod := plan.Targets[1]
	if prod.Name != "prod" || len(prod.Before) != 2 || len(prod.After) != 1 || len(plan.Targets[0].Before) != 0 {
		t.Fatalf("gates: %+v", plan.Targets)
	}
	if g := prod.Before[0]; g.Pause != 30*time.Second || g.Field != "targets.prod.constraints.beforeDeployment[0]" {
		t.Errorf("pause gate %+v", g)
	}
	hook := prod.Before[1].Hook
	if hook == nil || hook.Context.Step != BeforeDeployment || hook.Webhook == nil ||
		!strings.Contains(hook.Webhook.URL, "suite=change-freeze") || hook.Webhook.Callback == nil {
		t.Errorf("webhook gate %+v", prod.Before[1])
	}
	a := prod.After[0].Analysis
	if a == nil || len(a.Metrics) != 1 || a.Metrics[0].Name != "error-rate" || *a.Metrics[0].Count != 2 ||
		a.Metrics[0].Interval.Duration != time.Minute || len(a.Args) != 1 || a.Args[0].Name != "owner" || *a.Args[0].Value != "sre" {
		t.Errorf("analysis gate %+v", prod.After[0])
	}
}

// TestLimitConditions: the limits of a query judge its one value, whether
// Prometheus gives it as a scalar or a one-sample vector; several values
// fail.
func TestLimitConditions(t *testing.T) {
	upper, lower, five := 0.01, 5.0, 5.0
	tests := []struct {
		q      Query
		result analysis.Result
		want   rampv1.AnalysisPhase
	}{
		{Query{UpperLimit: &upper}, 0.005, rampv1.AnalysisSuccessful},
		{Query{UpperLimit: &upper}, []float64{0.005}, rampv1.AnalysisSuccessful},
		{Query{UpperLimit: &upper}, []float64{0.02}, rampv1.AnalysisFailed},
		{Query{UpperLimit: &upper}, 0.02, rampv1.AnalysisFailed},
		{Query{UpperLimit: &upper}, []float64{0.001, 0.001}, rampv1.AnalysisFailed},
		{Query{LowerLimit: &lower}, []float64{7}, rampv1.AnalysisSuccessful},
		{Query{LowerLimit: &lower}, 4.0, rampv1.AnalysisFailed},
		{Query{LowerLimit: &lower, UpperLimit: &five}, []float64{5}, rampv1.AnalysisSuccessful},
	}
	tr := &translator{opts: Options{MetricProviders: map[string]string{"prom": "http://127.0.0.1:9090"}}}
	for _, tt := range tests {
		tt.q.Name, tt.q.QueryTemplate = "q", "up"
		m, err := tr.metric(&tt.q, &AnalysisStep{MetricProviderName: "prom", NumberOfJudgmentRuns: 1}, time.Minute, varScope{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := analysis.Compile(&m)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := c.Judge(tt.result, nil); err != nil || got != tt.want {
			t.Errorf("%s on %v: %s, %v; want %s", m.SuccessCondition, tt.result, got, err, tt.want)
		}
	}
}

// TestTranslateAutoscaler: an HPA that scales a Deployment turned into a
// Rollout scales the Rollout; one that scales another kind is left alone.
func TestTranslateAutoscaler(t *testing.T) {
	hpa := func(kind, apiVersion, name string) string {
		return `
    ---
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: ` + name + `}
    spec:
      scaleTargetRef: {apiVersion: ` + apiVersion + `, kind: ` + kind + `, name: web}
      minReplicas: 2
      maxReplicas: 10
      metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]`
	}
	doc := strings.Replace(base, "spec: {selector: {app: web}, ports: [{port: 80}]}\n",
		"spec: {selector: {app: web}, ports: [{port: 80}]}"+hpa("Deployment", "apps/v1", "web")+hpa("StatefulSet", "apps/v1", "other")+"\n", 1)
	plan, err := translate(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range plan.Targets[1].Objects {
		if o.GetKind() == "HorizontalPodAutoscaler" {
			ref, _, _ := unstructured.NestedStringMap(o.Object, "spec", "scaleTargetRef")
			got[o.GetName()] = ref["apiVersion"] + " " + ref["kind"] + " " + ref["name"]
		}
	}
	want := map[string]string{"web": "ramp.dev/v1alpha1 Rollout web", "other": "apps/v1 StatefulSet web"}
	if len(got) != 2 || got["web"] != want["web"] || got["other"] != want["other"] {
		t.Errorf("scale targets %v, want %v", got, want)
	}
}

// TestTranslateSMIPerTarget: an smi entry for every target that routes the
// first target's Rollout must still route the next one's.
func TestTranslateSMIPerTarget(t *testing.T) {
	deployment := func(name string) string {
		return `
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ` + name + `}
    spec:
      selector: {matchLabels: {app: ` + name + `}}
      template:
        metadata: {labels: {app: ` + name + `}}
        spec: {containers: [{name: app, image: app:v2}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {selector: {app: web}, ports: [{port: 80}]}`
	}
	doc := `version: v1
kind: kubernetes
targets:
  staging: {account: dev, namespace: a, strategy: canary}
  prod: {account: prod, namespace: b, strategy: canary, constraints: {dependsOn: [staging]}}
manifests:
- targets: [staging]
  inline: |` + deployment("web") + `
- targets: [prod]
  inline: |` + deployment("api") + `
strategies:
  canary: {canary: {steps: [{setWeight: 50}]}}
trafficManagement:
- smi: [{rootServiceName: web, trafficSplitName: web}]
`
	_, err := translate(t, doc)
	want := `trafficManagement[0].smi[0].rootServiceName: Service "web" selects no Deployment of target prod (api)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "target staging") {
		t.Errorf("staging, which the entry routes, is reported: %v", err)
	}
}
