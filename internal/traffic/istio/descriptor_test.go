package istio

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestAnalysisServices: a canary's checks reach both versions through the
// root Service (their subsets); a blue/green Rollout's through the active
// and preview Services the router keeps.
func TestAnalysisServices(t *testing.T) {
	routing := &rampv1.TrafficRouting{Istio: &rampv1.IstioRouting{
		VirtualService:  rampv1.IstioVirtualService{Name: "web"},
		DestinationRule: rampv1.IstioDestinationRule{Name: "web", StableSubsetName: "stable", CanarySubsetName: "canary"},
	}}
	tests := []struct {
		name                   string
		strategy               rampv1.Strategy
		wantStable, wantCanary string
	}{
		{name: "canary", strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{TrafficRouting: routing}},
			wantStable: "web", wantCanary: "web"},
		{name: "blue/green", strategy: rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{ActiveService: "web-active", TrafficRouting: routing}},
			wantStable: "web-active", wantCanary: "web-active-preview"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ro := &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: rampv1.RolloutSpec{Service: "web", Strategy: tt.strategy}}
			ro.Normalize()
			stable, canary := Descriptor.AnalysisServices(ro)
			if stable != tt.wantStable || canary != tt.wantCanary {
				t.Errorf("AnalysisServices = %s, %s; want %s, %s", stable, canary, tt.wantStable, tt.wantCanary)
			}
		})
	}
}
