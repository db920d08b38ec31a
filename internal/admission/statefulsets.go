package admission

import (
	"context"
	"fmt"

	"gomodules.xyz/jsonpatch/v2"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// PathStatefulSet is where the mutating webhook on StatefulSets is served.
const PathStatefulSet = "/mutate-statefulset"

// statefulSets holds the rollout of a StatefulSet that a Rollout runs in
// place: an update that changes its template to one other than the
// Rollout's stable revision gets, in the same write, a partition at its
// replica count, so that the StatefulSet controller replaces no pod
// before the Rollout's steps say so. Nothing else of it is touched. With
// the webhook not answering (failurePolicy Ignore), the controller sets
// the partition as soon as it sees the change; the StatefulSet controller
// may have replaced its highest-ordinal pod by then.
type statefulSets struct {
	reader  client.Reader
	decoder admission.Decoder
}

func (m statefulSets) Handle(ctx context.Context, req admission.Request) admission.Response {
	sts, old := &appsv1.StatefulSet{}, &appsv1.StatefulSet{}
	if resp, done := decodeUpdate(m.decoder, req, sts, old); done {
		return resp
	}
	replicas := ptr.Deref(sts.Spec.Replicas, 1)
	ru := sts.Spec.UpdateStrategy.RollingUpdate
	if equality.Semantic.DeepEqual(sts.Spec.Template, old.Spec.Template) || (ru != nil && ptr.Deref(ru.Partition, 0) >= replicas) ||
		(sts.Spec.UpdateStrategy.Type != "" && sts.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType) {
		// The template did not change, or no pod would be replaced; with
		// OnDelete there is no partition (the Rollout says to change it).
		return admission.Allowed("")
	}
	ro, err := runInPlace(ctx, m.reader, rampv1.KindStatefulSet, sts)
	if err != nil {
		return admission.Allowed("").WithWarnings(fmt.Sprintf("ramp: could not tell whether a Rollout runs StatefulSet %s in place: %v", sts.Name, err))
	}
	if ro == nil || ro.Status.StableRevision == "" {
		return admission.Allowed("") // none, or one that has not taken the StatefulSet yet
	}
	reverted := rampv1.TemplateHash(&sts.Spec.Template, ro.Status.CollisionCount) == ro.Status.StableRevision
	if reverted && ro.Status.CanaryRevision == "" {
		// The stable template with no canary in flight. A revert
		// mid-canary is held too: the canary's pods may still have
		// traffic, and the controller releases the partition once
		// proxies have dropped it.
		return admission.Allowed("")
	}
	// One operation, as for Deployments: nothing else of the object is
	// rewritten.
	op := jsonpatch.JsonPatchOperation{Operation: "add", Path: "/spec/updateStrategy/rollingUpdate/partition", Value: replicas}
	if ru == nil {
		op = jsonpatch.JsonPatchOperation{Operation: "add", Path: "/spec/updateStrategy/rollingUpdate", Value: map[string]any{"partition": replicas}}
	}
	resp := admission.Patched("", op)
	why := "runs its new template as a canary first, on its highest ordinals"
	if reverted {
		why = "releases it once no proxy sends the canary's pods a request"
	}
	resp.Warnings = append(resp.Warnings, fmt.Sprintf("ramp: StatefulSet %s's partition set to %d: Rollout %s %s", sts.Name, replicas, ro.Name, why))
	return resp
}
