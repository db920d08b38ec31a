package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
)

// TemplateDigest is a collision-resistant digest of a pod template. The
// controller writes it on each revision's ReplicaSet
// (AnnotationTemplateDigest), so that anyone can tell which revision runs a
// given template.
func TemplateDigest(tmpl *corev1.PodTemplateSpec) string {
	data, _ := json.Marshal(tmpl)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
