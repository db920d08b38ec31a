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

// validBlueGreen is a blue/green Rollout the API server accepts; each
// case below breaks one thing in it.
const validBlueGreen = `
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
    blueGreen:
      activeService: web
      prePromotion:
      - webhook: {url: "http://127.0.0.1:8080/smoke"}
      postPromotion:
      - pause: {duration: 1m}
`

func blueGreen(spec map[string]any) map[string]any {
	return spec["strategy"].(map[string]any)["blueGreen"].(map[string]any)
}

// TestBlueGreenAdmission: the mistakes of a blue/green spec are refused
// at admission, each naming the field and the fix.
func TestBlueGreenAdmission(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(spec map[string]any)
		wantErr []string
	}{
		{name: "valid", edit: func(map[string]any) {}},
		{name: "valid through a mesh", edit: func(s map[string]any) {
			s["service"] = "web"
			blueGreen(s)["activeService"] = "web-active"
			blueGreen(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}}
		}},
		{name: "canary and blueGreen together", edit: func(s map[string]any) {
			s["strategy"].(map[string]any)["canary"] = map[string]any{"steps": []any{map[string]any{"setWeight": 5}}}
		}, wantErr: []string{"spec.strategy", "exactly one of canary and blueGreen"}},
		{name: "neither", edit: func(s map[string]any) { s["strategy"] = map[string]any{} },
			wantErr: []string{"spec.strategy", "exactly one of canary and blueGreen"}},
		{name: "no active Service", edit: func(s map[string]any) { delete(blueGreen(s), "activeService") },
			wantErr: []string{"spec.strategy.blueGreen.activeService", "Required value"}},
		{name: "preview Service equal to the active one", edit: func(s map[string]any) { blueGreen(s)["previewService"] = "web" },
			wantErr: []string{"spec.strategy.blueGreen", "previewService must differ from activeService"}},
		{name: "a weight before promotion", edit: func(s map[string]any) {
			blueGreen(s)["prePromotion"] = []any{map[string]any{"setWeight": 50}}
		}, wantErr: []string{"spec.strategy.blueGreen.prePromotion", "have no place in blue/green"}},
		{name: "a weight after promotion", edit: func(s map[string]any) {
			blueGreen(s)["postPromotion"] = []any{map[string]any{"setWeight": 50}}
		}, wantErr: []string{"spec.strategy.blueGreen.postPromotion", "have no place in blue/green"}},
		{name: "a step with two kinds", edit: func(s map[string]any) {
			blueGreen(s)["prePromotion"] = []any{map[string]any{"pause": map[string]any{}, "webhook": map[string]any{"url": "http://127.0.0.1/x"}}}
		}, wantErr: []string{"spec.strategy.blueGreen.prePromotion[0]", "exactly one of"}},
		{name: "preview of no pods", edit: func(s map[string]any) { blueGreen(s)["previewReplicaCount"] = 0 },
			wantErr: []string{"spec.strategy.blueGreen.previewReplicaCount", "greater than or equal to 1"}},
		{name: "negative auto-promotion", edit: func(s map[string]any) { blueGreen(s)["autoPromotionSeconds"] = -1 },
			wantErr: []string{"spec.strategy.blueGreen.autoPromotionSeconds", "greater than or equal to 0"}},
		{name: "a mesh without the root Service", edit: func(s map[string]any) {
			blueGreen(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}}
		}, wantErr: []string{"spec.service", "required with spec.strategy.blueGreen.trafficRouting"}},
		{name: "a mesh whose active Service is the root", edit: func(s map[string]any) {
			s["service"] = "web"
			blueGreen(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}}
		}, wantErr: []string{"activeService and previewService name the Services Ramp creates", "must differ from spec.service"}},
		{name: "through Istio, admitted", edit: func(s map[string]any) {
			s["service"] = "root"
			blueGreen(s)["trafficRouting"] = map[string]any{"istio": map[string]any{
				"virtualService": map[string]any{"name": "web"}, "destinationRule": map[string]any{"name": "web", "stableSubsetName": "a", "canarySubsetName": "b"}}}
		}},
		{name: "an active Service name too long for the default preview", edit: func(s map[string]any) {
			blueGreen(s)["activeService"] = strings.Repeat("a", 56)
		}, wantErr: []string{"spec.strategy.blueGreen.activeService", "name previewService"}},
		{name: "a Service name that is not a DNS label", edit: func(s map[string]any) { blueGreen(s)["activeService"] = "Web_1" },
			wantErr: []string{"spec.strategy.blueGreen.activeService", "should match"}},
		{name: "a mesh with canary Service names", edit: func(s map[string]any) {
			s["service"] = "root"
			blueGreen(s)["trafficRouting"] = map[string]any{"smi": map[string]any{}, "stableServiceName": "x"}
		}, wantErr: []string{"spec.strategy.blueGreen.trafficRouting", "name the Services with activeService and previewService"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admit(t, c, ns, validBlueGreen, tt.edit, tt.wantErr)
		})
	}
}

// TestBlueGreenServicesAreImmutable: the active and preview Services of an
// existing blue/green Rollout cannot be renamed (the old ones would keep
// Ramp's selector key); the rest of the strategy can change.
func TestBlueGreenServicesAreImmutable(t *testing.T) {
	c, obj := created(t, validBlueGreen, func(map[string]any) {})
	for name, change := range map[string]func(map[string]any){
		"active renamed": func(s map[string]any) { blueGreen(s)["activeService"] = "web-2" },
		"preview named":  func(s map[string]any) { blueGreen(s)["previewService"] = "web-next" },
	} {
		u := obj.DeepCopy()
		change(u.Object["spec"].(map[string]any))
		if err := c.Update(context.Background(), u); err == nil || !strings.Contains(err.Error(), "activeService and previewService cannot change") {
			t.Errorf("%s: got %v, want a refusal", name, err)
		}
	}
	u := obj.DeepCopy()
	blueGreen(u.Object["spec"].(map[string]any))["autoPromotionSeconds"] = int64(60)
	if err := c.Update(context.Background(), u); err != nil {
		t.Errorf("autoPromotionSeconds changed: refused: %v", err)
	}
}

// TestStrategyKindIsImmutable: a canary cannot become blue/green in place.
func TestStrategyKindIsImmutable(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(valid), &obj.Object); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(ns)
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	obj.Object["spec"].(map[string]any)["strategy"] = map[string]any{"blueGreen": map[string]any{"activeService": "web"}}
	err = c.Update(context.Background(), obj)
	if err == nil || !strings.Contains(err.Error(), "cannot change between canary and blueGreen") {
		t.Errorf("canary changed to blueGreen: got %v, want a refusal", err)
	}
}
