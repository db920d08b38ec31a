package podratio

import (
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestReplicas(t *testing.T) {
	tests := []struct {
		name               string
		replicas           int32
		weight             rampv1.Weight
		wantCanary, wantSt int32
	}{
		{"zero weight keeps everything stable", 4, 0, 0, 4},
		{"25% of 4", 4, rampv1.Percent(25), 1, 3},
		{"50% of 4", 4, rampv1.Percent(50), 2, 2},
		{"1% of 4 still gets one pod", 4, rampv1.Percent(1), 1, 3},
		{"0.1% of 10 gets one pod", 10, 100, 1, 9},
		{"rounds half up: 12.5% of 4 is 0.5 pods", 4, 12500, 1, 3},
		{"rounds down below half: 10% of 4 is 0.4 pods", 4, rampv1.Percent(10), 1, 3},
		{"rounds 37.5% of 4 (1.5) up", 4, 37500, 2, 2},
		{"33% of 3 is one pod", 3, rampv1.Percent(33), 1, 2},
		{"100% moves all pods", 5, rampv1.FullWeight, 5, 0},
		{"99% of 5 rounds to all pods", 5, rampv1.Percent(99), 5, 0},
		{"no replicas", 0, rampv1.Percent(50), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := Router{}.Replicas(tt.replicas, tt.weight)
			if c != tt.wantCanary || s != tt.wantSt {
				t.Errorf("Replicas(%d, %s) = %d canary, %d stable; want %d, %d", tt.replicas, tt.weight, c, s, tt.wantCanary, tt.wantSt)
			}
		})
	}
}
