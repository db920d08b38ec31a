package v1alpha1

import (
	"k8s.io/utils/ptr"

	"encoding/json"
	"testing"
)

func TestWeightJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Weight
		out     string
		wantErr bool
	}{
		{in: `25`, want: 25000, out: `25`},
		{in: `0.125`, want: 125, out: `0.125`},
		{in: `0.1`, want: 100, out: `0.1`},
		{in: `100`, want: FullWeight, out: `100`},
		{in: `"33.5"`, want: 33500, out: `33.5`},
		{in: `0`, want: 0, out: `0`},
		{in: `1e1`, want: 10000, out: `10`},
		{in: `0.1234`, wantErr: true},
		{in: `"abc"`, wantErr: true},
		{in: `true`, wantErr: true},
	}
	for _, tt := range tests {
		var w Weight
		err := json.Unmarshal([]byte(tt.in), &w)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s: parsed as %v, want an error", tt.in, w)
			}
			continue
		}
		if err != nil || w != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.in, w, err, tt.want)
			continue
		}
		out, _ := json.Marshal(w)
		if string(out) != tt.out {
			t.Errorf("%s: marshals as %s, want %s", tt.in, out, tt.out)
		}
	}
}

func TestWeightString(t *testing.T) {
	for w, want := range map[Weight]string{0: "0", 1: "0.001", 10: "0.01", 33333: "33.333", 50000: "50", -1500: "-1.5"} {
		if got := w.String(); got != want {
			t.Errorf("Weight(%d).String() = %q, want %q", int64(w), got, want)
		}
	}
}

func TestWeightAt(t *testing.T) {
	w := func(p int64) Step { return Step{SetWeight: ptr.To(Percent(p))} }
	steps := []Step{w(10), {Pause: &PauseStep{}}, w(50), {Pause: &PauseStep{}}}
	for i, want := range []Weight{Percent(10), Percent(10), Percent(50), Percent(50), Percent(50)} {
		if got := WeightAt(steps, i); got != want {
			t.Errorf("WeightAt(steps, %d) = %s, want %s", i, got, want)
		}
	}
	if got := WeightAt([]Step{{Pause: &PauseStep{}}}, 0); got != 0 {
		t.Errorf("before any setWeight: %s", got)
	}
}
