package v1alpha1

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestBlueGreenAsCanary(t *testing.T) {
	check := Step{Webhook: &WebhookHook{URL: "http://127.0.0.1/check"}}
	soak := Step{Pause: &PauseStep{Duration: &metav1.Duration{Duration: time.Minute}}}
	tests := []struct {
		name string
		bg   BlueGreenStrategy
		want string // the steps' summaries
	}{
		{"by hand, no checks", BlueGreenStrategy{},
			"pause until promoted | setWeight 100%"},
		{"at once", BlueGreenStrategy{AutoPromotionSeconds: ptr.To[int32](0)},
			"setWeight 100%"},
		{"after a delay", BlueGreenStrategy{AutoPromotionSeconds: ptr.To[int32](90)},
			"pause 1m30s | setWeight 100%"},
		{"checks before and after", BlueGreenStrategy{PrePromotion: []Step{check}, PostPromotion: []Step{soak, check}},
			"webhook POST http://127.0.0.1/check | pause until promoted | setWeight 100% | pause 1m0s | webhook POST http://127.0.0.1/check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.bg.AsCanary()
			var got []string
			for _, s := range c.Steps {
				got = append(got, s.Summary())
			}
			if strings.Join(got, " | ") != tt.want {
				t.Errorf("steps %q, want %q", strings.Join(got, " | "), tt.want)
			}
			if c.CanaryScale != CanaryScaleFull || ptr.Deref(c.ScaleDownDelaySeconds, -1) != 30 || c.TrafficRouting != nil {
				t.Errorf("scale %q, scale-down delay %v, routing %v: want Full, 30, none", c.CanaryScale, c.ScaleDownDelaySeconds, c.TrafficRouting)
			}
		})
	}
}

func TestBlueGreenAsCanaryNamesTheMeshServices(t *testing.T) {
	bg := BlueGreenStrategy{ActiveService: "web-active", TrafficRouting: &TrafficRouting{SMI: &SMIRouting{}}}
	c := bg.AsCanary()
	if tr := c.TrafficRouting; tr.StableServiceName != "web-active" || tr.CanaryServiceName != "web-active-preview" || tr.SMI == nil {
		t.Errorf("trafficRouting %+v: want the active and preview Services as stable and canary", tr)
	}
	if bg.TrafficRouting.StableServiceName != "" {
		t.Error("AsCanary changed the blue/green spec's trafficRouting")
	}
}

func TestNormalize(t *testing.T) {
	canary := &Rollout{Spec: RolloutSpec{Strategy: Strategy{Canary: CanaryStrategy{Steps: []Step{{SetWeight: ptr.To(Percent(5))}}}}}}
	canary.Normalize()
	if len(canary.Spec.Strategy.Canary.Steps) != 1 {
		t.Errorf("a canary changed: %+v", canary.Spec.Strategy.Canary)
	}
	bg := &Rollout{Spec: RolloutSpec{Strategy: Strategy{BlueGreen: &BlueGreenStrategy{ActiveService: "web"}}}}
	bg.Normalize()
	if got := bg.Spec.Strategy.Canary.Steps; len(got) != 2 || got[1].SetWeight == nil || *got[1].SetWeight != FullWeight {
		t.Errorf("blue/green normalized to %+v", got)
	}
}
