package rollout

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestReplicaSetLabels: a ReplicaSet carries its pods' labels and Ramp's
// own, and every value is one the API server takes, whatever the
// Rollout's name.
func TestReplicaSetLabels(t *testing.T) {
	for _, tc := range []struct {
		name        string
		wantRollout bool
	}{
		{"web", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false}, // a label value holds 63 characters
	} {
		ro := &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: "ns"}}
		ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", rampv1.LabelManagedBy: "Helm"}}}
		labels := newReplicaSet(ro, tmpl, "abc123", 1).Labels
		for k, v := range labels {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("%d-character name: label %s=%s: %v", len(tc.name), k, v, errs)
			}
		}
		_, hasRollout := labels[rampv1.LabelRollout]
		if hasRollout != tc.wantRollout || labels[rampv1.LabelManagedBy] != rampv1.ManagedBy || labels["app"] != "web" || labels[rampv1.LabelRevision] != "abc123" {
			t.Errorf("%d-character name: labels %v", len(tc.name), labels)
		}
		if tmpl.Labels[rampv1.LabelManagedBy] != "Helm" {
			t.Errorf("the pod template was changed: %v", tmpl.Labels)
		}
	}
}
