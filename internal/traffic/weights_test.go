package traffic

import (
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestRelative(t *testing.T) {
	tests := []struct {
		weight string
		want   Split
	}{
		{"0", Split{100, 0}},
		{"25", Split{75, 25}},
		{"100", Split{0, 100}},
		{"0.1", Split{999, 1}},
		{"0.5", Split{995, 5}},
		{"0.125", Split{99875, 125}},
		{"0.001", Split{99999, 1}},
		{"33.3", Split{667, 333}},
		{"99.9", Split{1, 999}},
	}
	for _, tt := range tests {
		w, err := rampv1.ParseWeight(tt.weight)
		if err != nil {
			t.Fatal(err)
		}
		got := Relative(w)
		if got != tt.want {
			t.Errorf("Relative(%s) = %+v, want %+v", tt.weight, got, tt.want)
		}
		if back := got.Share(); back != w {
			t.Errorf("Relative(%s).Share() = %s, want it back exactly", tt.weight, back)
		}
	}
}

func TestPercent(t *testing.T) {
	if s, ok := Percent(rampv1.Percent(25)); !ok || s != (Split{75, 25}) {
		t.Errorf("Percent(25) = %+v, %v", s, ok)
	}
	if _, ok := Percent(100); ok { // 0.1%
		t.Error("Percent(0.1) should not be expressible")
	}
}

func TestShareOfHandEditedSplits(t *testing.T) {
	for split, want := range map[Split]string{{1, 1}: "50", {2, 1}: "33.333", {0, 0}: "0", {0, 5}: "100", {5, 0}: "0"} {
		if got := split.Share().String(); got != want {
			t.Errorf("%+v.Share() = %s, want %s", split, got, want)
		}
	}
}
