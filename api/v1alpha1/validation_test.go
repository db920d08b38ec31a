package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// valid is a Rollout the API server accepts; each case below breaks one
// thing in it.
const valid = `
apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: web:v1}]
  strategy:
    canary:
      steps:
      - setWeight: 25
      - pause: {duration: 30s}
      - setWeight: 5
      - pause: {}
`

// TestAdmission applies Rollouts to the real API server: the valid one is
// accepted, and each invalid one is refused with a message naming the
// field at fault.
func TestAdmission(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(spec map[string]any)
		wantErr []string // substrings of the error; nil: accepted
	}{
		{name: "valid", edit: func(map[string]any) {}},
		{
			name:    "weight over 100",
			edit:    func(s map[string]any) { steps(s)[0] = map[string]any{"setWeight": 101} },
			wantErr: []string{"spec.strategy.canary.steps[0].setWeight", "less than or equal to 100"},
		},
		{
			name:    "negative weight",
			edit:    func(s map[string]any) { steps(s)[0] = map[string]any{"setWeight": -1} },
			wantErr: []string{"spec.strategy.canary.steps[0].setWeight", "greater than or equal to 0"},
		},
		{
			name:    "weight with four decimals",
			edit:    func(s map[string]any) { steps(s)[0] = map[string]any{"setWeight": 0.1234} },
			wantErr: []string{"spec.strategy.canary.steps[0].setWeight", "at most three decimals"},
		},
		{
			name:    "no steps",
			edit:    func(s map[string]any) { canary(s)["steps"] = []any{} },
			wantErr: []string{"spec.strategy.canary.steps", "at least 1 items"},
		},
		{
			name:    "steps missing",
			edit:    func(s map[string]any) { delete(canary(s), "steps") },
			wantErr: []string{"spec.strategy.canary.steps", "Required value"},
		},
		{
			name:    "a step with two actions",
			edit:    func(s map[string]any) { steps(s)[0] = map[string]any{"setWeight": 5, "pause": map[string]any{}} },
			wantErr: []string{"spec.strategy.canary.steps[0]", "exactly one of setWeight, pause, analysis, webhook, job, setHeaderRoute, setCookieRoute and setMirrorRoute"},
		},
		{
			name:    "an empty step",
			edit:    func(s map[string]any) { steps(s)[0] = map[string]any{} },
			wantErr: []string{"spec.strategy.canary.steps[0]", "exactly one of setWeight, pause, analysis, webhook, job, setHeaderRoute, setCookieRoute and setMirrorRoute"},
		},
		{
			name: "a webhook and a job in one step",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"webhook": map[string]any{"url": "http://ci/run"},
					"job": map[string]any{"container": map[string]any{"name": "t", "image": "t"}}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1]", "exactly one of setWeight, pause, analysis, webhook, job, setHeaderRoute, setCookieRoute and setMirrorRoute"},
		},
		{
			name: "a webhook URL without a scheme",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"webhook": map[string]any{"url": "ci.example/run"}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1].webhook.url", "should match '^https?://'"},
		},
		{
			name: "a webhook method",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"webhook": map[string]any{"url": "http://ci/run", "method": "DELETE"}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1].webhook.method", "Unsupported value"},
		},
		{
			name: "a webhook success code",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"webhook": map[string]any{"url": "http://ci/run", "successCodes": []any{2000}}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1].webhook.successCodes[0]", "less than or equal to 599"},
		},
		{
			name: "a webhook timeout over 5m",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"webhook": map[string]any{"url": "http://ci/run", "timeout": "10m"}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1].webhook.timeout", "at most 5m"},
		},
		{
			name: "a callback timeout",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"webhook": map[string]any{"url": "http://ci/run", "callback": map[string]any{"timeout": "1 day"}}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1].webhook.callback.timeout", "should match"},
		},
		{
			name:    "a job without a container",
			edit:    func(s map[string]any) { steps(s)[1] = map[string]any{"job": map[string]any{}} },
			wantErr: []string{"spec.strategy.canary.steps[1].job.container", "Required value"},
		},
		{
			name: "a job cleanup policy",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"job": map[string]any{"container": map[string]any{"name": "t", "image": "t"}, "cleanup": "Later"}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1].job.cleanup", "Unsupported value"},
		},
		{
			name: "bad pause duration",
			edit: func(s map[string]any) {
				steps(s)[1] = map[string]any{"pause": map[string]any{"duration": "ten minutes"}}
			},
			wantErr: []string{"spec.strategy.canary.steps[1].pause.duration", "should match"},
		},
		{
			name:    "both template and workloadRef",
			edit:    func(s map[string]any) { s["workloadRef"] = map[string]any{"name": "web"} },
			wantErr: []string{"exactly one of spec.template and spec.workloadRef"},
		},
		{
			name:    "neither template nor workloadRef",
			edit:    func(s map[string]any) { delete(s, "template") },
			wantErr: []string{"exactly one of spec.template and spec.workloadRef"},
		},
		{
			name: "workloadRef of another kind",
			edit: func(s map[string]any) {
				delete(s, "template")
				s["workloadRef"] = map[string]any{"kind": "DaemonSet", "name": "web"}
			},
			wantErr: []string{"spec.workloadRef.kind", "Unsupported value"},
		},
		{
			name:    "negative replicas",
			edit:    func(s map[string]any) { s["replicas"] = -1 },
			wantErr: []string{"spec.replicas", "greater than or equal to 0"},
		},
		{
			name:    "selector missing",
			edit:    func(s map[string]any) { delete(s, "selector") },
			wantErr: []string{"spec.selector", "Required value"},
		},
		{
			name: "maxSurge and maxUnavailable both zero",
			edit: func(s map[string]any) {
				canary(s)["maxSurge"] = 0
				canary(s)["maxUnavailable"] = "0%"
			},
			wantErr: []string{"spec.strategy.canary", "maxSurge and maxUnavailable cannot both be 0"},
		},
		{
			name:    "maxSurge not a percentage",
			edit:    func(s map[string]any) { canary(s)["maxSurge"] = "lots" },
			wantErr: []string{"spec.strategy.canary.maxSurge", "percentage such as 25%"},
		},
		{
			name:    "negative progressDeadlineSeconds",
			edit:    func(s map[string]any) { s["progressDeadlineSeconds"] = 0 },
			wantErr: []string{"spec.progressDeadlineSeconds", "greater than or equal to 1"},
		},
		{
			name:    "negative scaleDownDelaySeconds",
			edit:    func(s map[string]any) { canary(s)["scaleDownDelaySeconds"] = -5 },
			wantErr: []string{"spec.strategy.canary.scaleDownDelaySeconds", "greater than or equal to 0"},
		},
		{
			name:    "fractional weight with pod-ratio traffic",
			edit:    func(s map[string]any) { steps(s)[2] = map[string]any{"setWeight": 0.125} },
			wantErr: []string{"spec.strategy.canary.steps[2].setWeight has decimals", "pod-ratio traffic"},
		},
		{
			name: "fractional weight with SMI",
			edit: func(s map[string]any) {
				steps(s)[2] = map[string]any{"setWeight": 0.001}
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}}
			},
		},
		{
			name: "fractional weight with Istio in percentage mode",
			edit: func(s map[string]any) {
				steps(s)[0] = map[string]any{"setWeight": 0.5}
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"istio": map[string]any{
					"percentWeights":  true,
					"virtualService":  map[string]any{"name": "web"},
					"destinationRule": map[string]any{"name": "web", "stableSubsetName": "stable", "canarySubsetName": "canary"},
				}}
			},
			wantErr: []string{"spec.strategy.canary.steps[0].setWeight has decimals", "Istio with percentWeights"},
		},
		{
			name:    "trafficRouting without the root service",
			edit:    func(s map[string]any) { canary(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}} },
			wantErr: []string{"spec.service (the root Service clients call) is required"},
		},
		{
			name: "two routers",
			edit: func(s map[string]any) {
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}, "gatewayAPI": map[string]any{}}
			},
			wantErr: []string{"spec.strategy.canary.trafficRouting", "exactly one of smi, gatewayAPI and istio"},
		},
		{
			name:    "canaryScale with pod-ratio traffic",
			edit:    func(s map[string]any) { canary(s)["canaryScale"] = "Full" },
			wantErr: []string{"spec.strategy.canary.canaryScale applies to mesh routers only"},
		},
		{
			name: "unknown SMI version",
			edit: func(s map[string]any) {
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"smi": map[string]any{"apiVersion": "split.smi-spec.io/v1"}}
			},
			wantErr: []string{"spec.strategy.canary.trafficRouting.smi.apiVersion", "Unsupported value"},
		},
		{
			name: "stable and canary Services with one name",
			edit: func(s map[string]any) {
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}, "canaryServiceName": "web-stable"}
			},
			wantErr: []string{"stableServiceName and canaryServiceName must differ"},
		},
		{
			name: "stable Service named like the root",
			edit: func(s map[string]any) {
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}, "stableServiceName": "web"}
			},
			wantErr: []string{"must differ from each other and from spec.service"},
		},
		{
			name: "Istio subsets with one name",
			edit: func(s map[string]any) {
				s["service"] = "web"
				canary(s)["trafficRouting"] = map[string]any{"istio": map[string]any{
					"virtualService":  map[string]any{"name": "web"},
					"destinationRule": map[string]any{"name": "web", "stableSubsetName": "v", "canarySubsetName": "v"},
				}}
			},
			wantErr: []string{"stableSubsetName and canarySubsetName must differ"},
		},
		{
			name:    "unknown field",
			edit:    func(s map[string]any) { s["replica"] = 3 },
			wantErr: []string{`unknown field "spec.replica"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admit(t, c, ns, valid, tt.edit, tt.wantErr)
		})
	}
}

// admit creates the object in doc (its spec edited; named web-<random>) in
// namespace ns and checks that it is accepted when wantErr is empty, or
// refused with an error that contains every string in wantErr.
func admit(t *testing.T, c client.Client, ns, doc string, edit func(spec map[string]any), wantErr []string) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(ns)
	obj.SetGenerateName("web-")
	obj.SetName("")
	edit(obj.Object["spec"].(map[string]any))
	err := c.Create(context.Background(), obj, client.FieldValidation("Strict"))
	if wantErr == nil {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted, want an error naming %q", wantErr[0])
	}
	for _, want := range wantErr {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

func canary(spec map[string]any) map[string]any {
	return spec["strategy"].(map[string]any)["canary"].(map[string]any)
}

func steps(spec map[string]any) []any { return canary(spec)["steps"].([]any) }

// created creates the Rollout of manifest, its spec changed by edit, in a
// namespace of its own, and returns a client and the object as created.
func created(t *testing.T, manifest string, edit func(spec map[string]any)) (client.Client, *unstructured.Unstructured) {
	t.Helper()
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(clustertest.Namespace(t))
	edit(obj.Object["spec"].(map[string]any))
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	return c, obj
}

// TestTrafficRoutingIsImmutable: a router added, removed or changed on an
// existing Rollout is refused, since its routing objects would be left
// sending traffic.
func TestTrafficRoutingIsImmutable(t *testing.T) {
	c, obj := created(t, valid, func(spec map[string]any) {
		spec["service"] = "web"
		canary(spec)["trafficRouting"] = map[string]any{"smi": map[string]any{}}
	})
	for name, change := range map[string]func(map[string]any){
		"removed": func(s map[string]any) { delete(canary(s), "trafficRouting") },
		"changed": func(s map[string]any) {
			canary(s)["trafficRouting"] = map[string]any{"gatewayAPI": map[string]any{}}
		},
	} {
		u := obj.DeepCopy()
		change(u.Object["spec"].(map[string]any))
		err := c.Update(context.Background(), u)
		if err == nil || !strings.Contains(err.Error(), "trafficRouting cannot be added, removed or changed") {
			t.Errorf("router %s: got %v, want a refusal naming trafficRouting", name, err)
		}
	}
	// Other changes pass.
	u := obj.DeepCopy()
	steps(u.Object["spec"].(map[string]any))[0] = map[string]any{"setWeight": 10}
	if err := c.Update(context.Background(), u); err != nil {
		t.Errorf("a step change was refused: %v", err)
	}
}

// TestAnalysisTemplateAdmission applies bad AnalysisTemplates to the API
// server: each is refused with a message naming what is wrong.
func TestAnalysisTemplateAdmission(t *testing.T) {
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
  args: [{name: service}]
  metrics:
  - name: error-rate
    interval: 10s
    successCondition: result <= 0.01
    provider:
      prometheus:
        address: http://prometheus:9090
        query: sum(rate(x[1m]))
`
	metric := func(spec map[string]any) map[string]any { return spec["metrics"].([]any)[0].(map[string]any) }
	prom := func(spec map[string]any) map[string]any {
		return metric(spec)["provider"].(map[string]any)["prometheus"].(map[string]any)
	}
	tests := []struct {
		name    string
		edit    func(spec map[string]any)
		wantErr []string
	}{
		{name: "valid", edit: func(map[string]any) {}},
		{name: "no condition", edit: func(s map[string]any) { delete(metric(s), "successCondition") },
			wantErr: []string{"spec.metrics[0]", "needs a successCondition or a failureCondition"}},
		{name: "two providers", edit: func(s map[string]any) {
			metric(s)["provider"].(map[string]any)["web"] = map[string]any{"url": "http://x", "jsonPath": "{.a}"}
		}, wantErr: []string{"spec.metrics[0].provider", "exactly one of prometheus, web, datadog, newRelic, graphite, cloudWatch, influxDB and job"}},
		{name: "no metrics", edit: func(s map[string]any) { s["metrics"] = []any{} },
			wantErr: []string{"spec.metrics", "at least 1 items"}},
		{name: "address not a URL", edit: func(s map[string]any) { prom(s)["address"] = "prometheus:9090" },
			wantErr: []string{"spec.metrics[0].provider.prometheus.address", "should match"}},
		{name: "header with value and valueFrom", edit: func(s map[string]any) {
			prom(s)["headers"] = []any{map[string]any{"name": "X-Org", "value": "a", "valueFrom": map[string]any{"name": "s", "key": "k"}}}
		}, wantErr: []string{"spec.metrics[0].provider.prometheus.headers[0]", "exactly one of value and valueFrom"}},
		{name: "bad interval", edit: func(s map[string]any) { metric(s)["interval"] = "often" },
			wantErr: []string{"spec.metrics[0].interval", "should match"}},
		{name: "bad argument name", edit: func(s map[string]any) { s["args"] = []any{map[string]any{"name": "max-rate"}} },
			wantErr: []string{"spec.args[0].name", "should match"}},
		{name: "bad empty result", edit: func(s map[string]any) { metric(s)["emptyResult"] = "Ignore" },
			wantErr: []string{"spec.metrics[0].emptyResult", "Unsupported value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admit(t, c, ns, template, tt.edit, tt.wantErr)
		})
	}
}
