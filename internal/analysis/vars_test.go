package analysis

import (
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestNewVarsPods(t *testing.T) {
	for _, tc := range []struct {
		name               string
		ctx                rampv1.AnalysisContext
		stablePods, canary string
	}{
		{"Ramp's revisions", rampv1.AnalysisContext{Rollout: "web", StableRevision: "aaa", CanaryRevision: "bbb"}, `web-aaa-.*`, `web-bbb-.*`},
		{"a Deployment run in place", rampv1.AnalysisContext{Rollout: "web", StableRevision: "aaa", CanaryRevision: "bbb", StableReplicaSet: "shop-7d9f"},
			`shop-7d9f-.*`, `web-bbb-.*`},
		{"names with dots are quoted", rampv1.AnalysisContext{Rollout: "web.v2", StableRevision: "aaa", CanaryRevision: "bbb"}, `web\.v2-aaa-.*`, `web\.v2-bbb-.*`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVars("ns", &rampv1.AnalysisRunSpec{Context: tc.ctx})
			if v.StablePods != tc.stablePods || v.CanaryPods != tc.canary {
				t.Errorf("StablePods %q, CanaryPods %q; want %q, %q", v.StablePods, v.CanaryPods, tc.stablePods, tc.canary)
			}
		})
	}
}
