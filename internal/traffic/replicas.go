package traffic

import (
	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// ProportionalPods is the canary's share of replicas for weight w:
// round(replicas × w / 100), half up, at least one pod when w > 0.
func ProportionalPods(replicas int32, w rampv1.Weight) int32 {
	if w <= 0 || replicas <= 0 {
		return 0
	}
	c := (int64(replicas)*int64(w) + int64(rampv1.FullWeight)/2) / int64(rampv1.FullWeight)
	return int32(min(max(c, 1), int64(replicas)))
}

// MeshReplicas is the pod count of each revision when a mesh carries the
// weight: the stable revision stays at full scale, so a rollback needs no
// pod to start, and the canary runs its share of the replicas (or all of
// them with CanaryScaleFull).
func MeshReplicas(scale rampv1.CanaryScale, replicas int32, w rampv1.Weight) (canary, stable int32) {
	if scale == rampv1.CanaryScaleFull {
		return replicas, replicas
	}
	return ProportionalPods(replicas, w), replicas
}
