package smi

import (
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestBackends(t *testing.T) {
	tests := []struct {
		version, weight string
		stable, canary  any
	}{
		{"v1alpha4", "0.1", int64(999), int64(1)},
		{"v1alpha2", "25", int64(75), int64(25)},
		{"v1alpha3", "0.125", int64(99875), int64(125)},
		{"v1alpha1", "0.1", "99900m", "100m"},
		{"v1alpha1", "25", "75", "25"},
		{"v1alpha1", "0", "100", "0"},
	}
	for _, tt := range tests {
		w, err := rampv1.ParseWeight(tt.weight)
		if err != nil {
			t.Fatal(err)
		}
		got := backends(tt.version, "web-stable", "web-canary", w)
		s, c := got[0].(map[string]any), got[1].(map[string]any)
		if s["service"] != "web-stable" || c["service"] != "web-canary" || s["weight"] != tt.stable || c["weight"] != tt.canary {
			t.Errorf("%s %s%%: got %v, want web-stable=%v web-canary=%v", tt.version, tt.weight, got, tt.stable, tt.canary)
		}
		if back := share(got, "web-canary"); back != w {
			t.Errorf("%s %s%%: reads back as %s", tt.version, tt.weight, back)
		}
	}
}
