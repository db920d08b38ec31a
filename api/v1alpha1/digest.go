package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
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

// TemplateHash names a pod template: a short, stable, DNS-safe hash of the
// template, mixed with the collision count so that a collision can be
// escaped by bumping the count. A revision's ReplicaSet is named
// <rollout>-<hash>; status.stableRevision and canaryRevision hold such
// hashes.
func TemplateHash(tmpl *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	// encoding/json writes struct fields in order and map keys sorted, so
	// equal templates always hash alike.
	data, _ := json.Marshal(tmpl)
	h.Write(data)
	if collisionCount != nil {
		h.Write([]byte(strconv.Itoa(int(*collisionCount))))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
