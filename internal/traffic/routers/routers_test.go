package routers

import (
	"testing"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

func TestFor(t *testing.T) {
	smi := &rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}}
	istio := &rampv1.TrafficRouting{Istio: &rampv1.IstioRouting{}}
	tests := []struct {
		name     string
		strategy rampv1.Strategy
		want     string
	}{
		{"a canary without trafficRouting", rampv1.Strategy{}, "pod ratio"},
		{"a canary through SMI", rampv1.Strategy{Canary: rampv1.CanaryStrategy{TrafficRouting: smi}}, "SMI"},
		{"blue/green without trafficRouting", rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{}}, "Service selectors"},
		{"blue/green through Istio", rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{TrafficRouting: istio}}, "Istio"},
		{"a router this controller does not know", rampv1.Strategy{Canary: rampv1.CanaryStrategy{TrafficRouting: &rampv1.TrafficRouting{}}}, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := For(&rampv1.Rollout{Spec: rampv1.RolloutSpec{Strategy: tt.strategy}}).Name; got != tt.want {
				t.Errorf("router %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPreviewReplicas(t *testing.T) {
	ro := &rampv1.Rollout{Spec: rampv1.RolloutSpec{Strategy: rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{
		ActiveService: "web", PreviewReplicaCount: ptr.To[int32](2),
	}}}}
	ro.Normalize()
	r := New(traffic.Kube{}, ro)
	for _, tc := range []struct {
		replicas               int32
		weight                 rampv1.Weight
		wantCanary, wantStable int32
	}{
		{10, 0, 2, 10},                  // the preview's size while it gets no traffic
		{10, rampv1.FullWeight, 10, 10}, // full before the switch
		{1, 0, 1, 1},                    // never more than spec.replicas
	} {
		if c, s := r.Replicas(tc.replicas, tc.weight); c != tc.wantCanary || s != tc.wantStable {
			t.Errorf("Replicas(%d, %s) = %d, %d; want %d, %d", tc.replicas, tc.weight, c, s, tc.wantCanary, tc.wantStable)
		}
	}
}
