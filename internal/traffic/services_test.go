package traffic

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestLeftFor: a Rollout takes over a Service nobody controls that Argo
// Rollouts or Ramp made for a Rollout of its name, and no other.
func TestLeftFor(t *testing.T) {
	ro := &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	controlled := []metav1.OwnerReference{{Kind: "Rollout", Name: "web", Controller: ptr.To(true)}}
	for _, tc := range []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		owners      []metav1.OwnerReference
		want        bool
	}{
		{"left by Argo Rollouts", nil, map[string]string{ArgoManagedByAnnotation: "web"}, nil, true},
		{"left by Ramp", rampv1.CreatedLabels("web"), nil, nil, true},
		{"Argo's, of another Rollout", nil, map[string]string{ArgoManagedByAnnotation: "api"}, nil, false},
		{"Ramp's, of another Rollout", rampv1.CreatedLabels("api"), nil, nil, false},
		{"someone's own", map[string]string{"app": "web"}, nil, nil, false},
		{"still controlled", rampv1.CreatedLabels("web"), nil, controlled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels, Annotations: tc.annotations, OwnerReferences: tc.owners}}
			if got := leftFor(svc, ro); got != tc.want {
				t.Errorf("leftFor = %v, want %v", got, tc.want)
			}
		})
	}
}
