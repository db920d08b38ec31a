package istio

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// labelSubsets pins the two subsets to their revisions, creating a missing
// subset (recorded, to be removed at rest).
func (r *Router) labelSubsets(dr *unstructured.Unstructured, stable, canary map[string]string) string {
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	var did []string
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{
		{r.cfg.DestinationRule.StableSubsetName, stable}, {r.cfg.DestinationRule.CanarySubsetName, canary},
	} {
		i := slices.IndexFunc(subsets, func(x any) bool { return name(x) == s.name })
		if i < 0 {
			subsets = append(subsets, map[string]any{"name": s.name})
			i = len(subsets) - 1
			added := addedSubsets(dr)
			setAnnotation(dr, AnnotationAddedSubset, strings.Join(append(added, s.name), ","))
			did = append(did, "added subset "+s.name)
		}
		m := subsets[i].(map[string]any)
		labels, _, _ := unstructured.NestedStringMap(m, "labels")
		if labels == nil {
			labels = map[string]string{}
		}
		// Argo Rollouts pins its subsets by a pod-template hash; Ramp's
		// pods lack it, and a Deployment's are selected by it only when
		// it runs in place (s.labels says so).
		want := maps.Clone(labels)
		for _, l := range append(slices.Clone(traffic.ForeignRevisionLabels), rampv1.LabelRevision) {
			delete(want, l)
		}
		maps.Copy(want, s.labels)
		if !maps.Equal(labels, want) {
			_ = unstructured.SetNestedStringMap(m, want, "labels")
			did = append(did, fmt.Sprintf("subset %s selects %v", s.name, s.labels))
		}
	}
	_ = unstructured.SetNestedSlice(dr.Object, subsets, "spec", "subsets")
	return strings.Join(did, ", ")
}

// releaseSubsets removes the revision labels (Ramp's, and a pod-template
// hash) and the subset Ramp added.
func (r *Router) releaseSubsets(dr *unstructured.Unstructured) string {
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	added := addedSubsets(dr)
	var did []string
	out := subsets[:0]
	for _, x := range subsets {
		m, _ := x.(map[string]any)
		n := name(x)
		if n != r.cfg.DestinationRule.StableSubsetName && n != r.cfg.DestinationRule.CanarySubsetName {
			out = append(out, x)
			continue
		}
		if slices.Contains(added, n) {
			did = append(did, "removed subset "+n)
			continue
		}
		labels, _, _ := unstructured.NestedStringMap(m, "labels")
		// Ramp's revision label, or a Deployment's pod-template-hash
		// where it ran one in place: at rest the subset selects every
		// pod again, as the user wrote it.
		pinned := false
		for _, l := range append(slices.Clone(traffic.ForeignRevisionLabels), rampv1.LabelRevision) {
			if _, ok := labels[l]; ok {
				delete(labels, l)
				pinned = true
			}
		}
		if pinned {
			if len(labels) == 0 {
				delete(m, "labels")
			} else {
				_ = unstructured.SetNestedStringMap(m, labels, "labels")
			}
			did = append(did, "subset "+n+" label removed")
		}
		out = append(out, x)
	}
	if len(added) > 0 {
		setAnnotation(dr, AnnotationAddedSubset, "")
	}
	_ = unstructured.SetNestedSlice(dr.Object, out, "spec", "subsets")
	return strings.Join(did, ", ")
}
