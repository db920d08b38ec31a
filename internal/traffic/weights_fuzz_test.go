package traffic

import (
	"encoding/json"
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// FuzzSplit: every weight, in or out of range, becomes backend weights
// that are never negative, never both zero, and read back as the weight
// (clamped to 0–100%) exactly; whole percentages also as integer
// percentages summing to 100.
func FuzzSplit(f *testing.F) {
	for _, w := range []int64{0, 1, 125, 25000, 99999, 100000, -5, 100001, 1 << 62} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, raw int64) {
		w := rampv1.Weight(raw)
		want := clamp(w)
		s := Relative(w)
		if s.Stable < 0 || s.Canary < 0 || s.Stable+s.Canary == 0 {
			t.Fatalf("Relative(%d) = %+v", raw, s)
		}
		if got := s.Share(); got != want {
			t.Fatalf("Relative(%d) = %+v reads back as %d, want %d", raw, s, got, want)
		}
		p, ok := Percent(w)
		if ok != want.IsWhole() {
			t.Fatalf("Percent(%d): ok %v for a weight whole=%v", raw, ok, want.IsWhole())
		}
		if ok && (p.Stable+p.Canary != 100 || p.Share() != want) {
			t.Fatalf("Percent(%d) = %+v", raw, p)
		}
	})
}

// FuzzParseWeight: whatever the text, ParseWeight answers without
// panicking, and a weight it accepts prints and reads back as itself, in
// text and in JSON.
func FuzzParseWeight(f *testing.F) {
	for _, s := range []string{"25", "0.125", "100", "-1", "1e2", "0.0001", "1/3", " 7 ", "9223372036854775807", "1e400", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := rampv1.ParseWeight(s)
		if err != nil {
			return
		}
		back, err := rampv1.ParseWeight(w.String())
		if err != nil || back != w {
			t.Fatalf("%q → %d → %q → %d, %v", s, w, w.String(), back, err)
		}
		data, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON rampv1.Weight
		if err := json.Unmarshal(data, &fromJSON); err != nil || fromJSON != w {
			t.Fatalf("JSON %s → %d, %v; want %d", data, fromJSON, err, w)
		}
	})
}
