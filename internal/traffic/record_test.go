package traffic

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestRecord: what MarkWritten records, ReadWritten reads back.
func TestRecord(t *testing.T) {
	drain := time.Date(2026, 12, 5, 17, 10, 9, 123456000, time.UTC)
	for _, tc := range []struct {
		name       string
		target     Target
		annotation string
		want       *Written
	}{
		{"a weight", Target{Stable: "s", Canary: "c", Weight: rampv1.Percent(25)}, "25/c", &Written{Weight: rampv1.Percent(25), Canary: "c"}},
		{"a fraction", Target{Stable: "s", Canary: "c", Weight: 125}, "0.125/c", &Written{Weight: 125, Canary: "c"}},
		{"a zero that drains", Target{Stable: "s", Canary: "c", Drain: drain}, "0/c/2026-12-05T17:10:09.123456Z", &Written{Canary: "c", Drain: drain}},
		{"a promotion", Target{Stable: "c", Canary: "c"}, "promoted/c", &Written{Canary: "c", Promoted: true}},
		{"a promotion that drains the canary side", Target{Stable: "c", Canary: "c", Drain: drain}, "promoted/c/2026-12-05T17:10:09.123456Z",
			&Written{Canary: "c", Promoted: true, Drain: drain}},
		{"at rest: no record", Target{Stable: "c", Canary: "c", Rest: true}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{}
			svc.SetAnnotations(map[string]string{AnnotationWeight: "stale/x"})
			if !MarkWritten(svc, tc.target) {
				t.Error("MarkWritten reported no change")
			}
			if got := svc.Annotations[AnnotationWeight]; got != tc.annotation {
				t.Errorf("annotation %q, want %q", got, tc.annotation)
			}
			got := ReadWritten(svc)
			if (got == nil) != (tc.want == nil) || (got != nil && (got.Weight != tc.want.Weight || got.Canary != tc.want.Canary ||
				got.Promoted != tc.want.Promoted || !got.Drain.Equal(tc.want.Drain))) {
				t.Errorf("read back %+v, want %+v", got, tc.want)
			}
			if MarkWritten(svc, tc.target) {
				t.Error("MarkWritten changed an object that already held the record")
			}
		})
	}
}

func TestReadWrittenIgnoresWhatItDidNotWrite(t *testing.T) {
	for _, a := range []string{"", "25", "heavy/c", "/"} {
		svc := &corev1.Service{}
		svc.SetAnnotations(map[string]string{AnnotationWeight: a})
		if got := ReadWritten(svc); got != nil {
			t.Errorf("%q read as %+v", a, got)
		}
	}
}
