package rollout

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestAdoptionHold: routing waits endpointPropagationSeconds after a
// takeover, counted from the start of the recorded second, and not after.
func TestAdoptionHold(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 400_000_000, time.UTC)
	rev := func(at string) *revision {
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
		if at != "" {
			rs.Annotations[rampv1.AnnotationAdoptedAt] = at
		}
		return &revision{rs: rs}
	}
	for _, tc := range []struct {
		name        string
		propagation *int32
		revs        []*revision
		want        time.Duration
	}{
		{"none taken over", nil, []*revision{rev("")}, 0},
		{"just taken over", nil, []*revision{rev("2026-12-06T12:00:00Z")}, 5*time.Second + 600*time.Millisecond},
		{"the latest counts", ptr.To[int32](2), []*revision{rev("2026-12-06T11:59:58Z"), rev("2026-12-06T12:00:00Z")}, 2*time.Second + 600*time.Millisecond},
		{"long past", nil, []*revision{rev("2026-12-06T11:00:00Z")}, 0},
		{"unreadable", nil, []*revision{rev("yesterday")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &rampv1.Rollout{}
			ro.Spec.Strategy.Canary.EndpointPropagationSeconds = tc.propagation
			if got := adoptionHold(ro, tc.revs, now); got != tc.want {
				t.Errorf("hold %s, want %s", got, tc.want)
			}
		})
	}
}

// TestComparable: the labels controllers add to tell revisions apart do
// not make two templates differ; any other label does.
func TestComparable(t *testing.T) {
	tmpl := func(labels map[string]string) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}
	}
	base := comparable(tmpl(map[string]string{"app": "web"}))
	for _, tc := range []struct {
		labels map[string]string
		same   bool
	}{
		{map[string]string{"app": "web", "rollouts-pod-template-hash": "abc"}, true},
		{map[string]string{"app": "web", "pod-template-hash": "abc"}, true},
		{map[string]string{"app": "web", rampv1.LabelRevision: "abc"}, true},
		{map[string]string{"app": "web", "role": "stable"}, false},
		{map[string]string{"app": "api"}, false},
	} {
		got := comparable(tmpl(tc.labels))
		if same := reflect.DeepEqual(got, base); same != tc.same {
			t.Errorf("%v compares as the same: %v, want %v", tc.labels, same, tc.same)
		}
	}
}
