package manager

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
)

func TestStripUnread(t *testing.T) {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name:          "web",
			Annotations:   map[string]string{lastApplied: `{"big":"copy"}`, "ramp.dev/canary-weight": "25/abc"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		}
	}
	typed := &corev1.Service{ObjectMeta: meta()}
	u := &unstructured.Unstructured{}
	u.SetName("web")
	u.SetAnnotations(meta().Annotations)
	u.SetManagedFields(meta().ManagedFields)
	for _, obj := range []metav1.Object{typed, u} {
		if _, err := stripUnread(obj); err != nil {
			t.Fatal(err)
		}
		if obj.GetManagedFields() != nil || obj.GetAnnotations()[lastApplied] != "" {
			t.Errorf("%T kept what Ramp never reads: %v %v", obj, obj.GetManagedFields(), obj.GetAnnotations())
		}
		if obj.GetAnnotations()["ramp.dev/canary-weight"] != "25/abc" {
			t.Errorf("%T lost Ramp's own annotation: %v", obj, obj.GetAnnotations())
		}
	}
	tombstone := toolscache.DeletedFinalStateUnknown{Key: "ns/web"}
	if got, err := stripUnread(tombstone); err != nil || got != tombstone {
		t.Errorf("a tombstone came back as %v, %v", got, err)
	}
}
