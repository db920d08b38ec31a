package admission

import (
	"context"
	"fmt"
	"net/http"

	"gomodules.xyz/jsonpatch/v2"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// PathDeployment is where the mutating webhook on Deployments is served.
const PathDeployment = "/mutate-deployment"

// deployments holds the rollout of a Deployment that a Rollout runs in
// place (spec.workloadRef.mode InPlace): an update that leaves it unpaused
// with a template other than the Rollout's stable revision gets
// spec.paused in the same write, before the Deployment controller sees it,
// and the Rollout runs the new template as a canary first. That covers a
// new template, and a write that would unpause one not promoted yet: a
// GitOps tool applying its manifest again (with server-side apply, the
// field the webhook set in its last write counts as its own, and goes
// when the manifest lacks it), or `kubectl rollout resume`. Ramp's own
// unpause comes once the template is the stable one, and passes. Nothing
// else of the Deployment is touched. With the webhook not answering
// (failurePolicy Ignore), the controller pauses it as soon as it sees the
// change, and says so in an event.
type deployments struct {
	// reader lists Rollouts directly, as rollouts reads (see there).
	reader  client.Reader
	decoder admission.Decoder
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=get;patch,resourceNames=ramp-admission

func (m deployments) Handle(ctx context.Context, req admission.Request) admission.Response {
	dep, old := &appsv1.Deployment{}, &appsv1.Deployment{}
	if resp, done := decodeUpdate(m.decoder, req, dep, old); done {
		return resp
	}
	if dep.Spec.Paused || (!old.Spec.Paused && equality.Semantic.DeepEqual(dep.Spec.Template, old.Spec.Template)) {
		return admission.Allowed("")
	}
	ro, err := runInPlace(ctx, m.reader, rampv1.KindDeployment, dep)
	if err != nil {
		// Not held here; the controller holds it when it sees the change.
		return admission.Allowed("").WithWarnings(fmt.Sprintf("ramp: could not tell whether a Rollout runs Deployment %s in place: %v", dep.Name, err))
	}
	if ro == nil || ro.Status.StableRevision == "" {
		// None, or one that has not taken the Deployment yet (it waits
		// for the Deployment's own rollout to finish).
		return admission.Allowed("")
	}
	if rampv1.TemplateHash(&dep.Spec.Template, ro.Status.CollisionCount) == ro.Status.StableRevision {
		return admission.Allowed("") // the stable template: nothing to check
	}
	// One operation, not a diff of the object as Ramp's types read it: a
	// field of a newer API than Ramp was built with must not be dropped.
	resp := admission.Patched("", jsonpatch.JsonPatchOperation{Operation: "add", Path: "/spec/paused", Value: true})
	resp.Warnings = append(resp.Warnings, fmt.Sprintf(
		"ramp: Deployment %s paused: Rollout %s runs its new template as a canary first, and resumes it once promoted", dep.Name, ro.Name))
	return resp
}

// runInPlace returns the Rollout that runs the workload obj of kind in
// place, if any. One being deleted holds it until its deletion's last
// step, which releases the workload (AnnotationResumedAt): a GitOps tool's
// re-apply meanwhile must not start its rollout under the routing Ramp
// still holds.
func runInPlace(ctx context.Context, reader client.Reader, kind string, obj client.Object) (*rampv1.Rollout, error) {
	var list rampv1.RolloutList
	if err := reader.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil, err
	}
	for i := range list.Items {
		ro := &list.Items[i]
		released := ro.DeletionTimestamp != nil && ro.Annotations[rampv1.AnnotationResumedAt] != ""
		ref := ro.Spec.WorkloadRef
		if ro.Spec.InPlace() && ref.Kind == kind && ref.Name == obj.GetName() && !released {
			return ro, nil
		}
	}
	return nil, nil
}

// decodeUpdate decodes an update's object and its old one into obj and
// old; done, resp is the answer: not an update, or not one to decode.
func decodeUpdate(d admission.Decoder, req admission.Request, obj, old runtime.Object) (resp admission.Response, done bool) {
	if req.Operation != admissionv1.Update {
		return admission.Allowed(""), true
	}
	if err := d.Decode(req, obj); err != nil {
		return admission.Errored(http.StatusBadRequest, err), true
	}
	if err := d.DecodeRaw(req.OldObject, old); err != nil {
		return admission.Errored(http.StatusBadRequest, err), true
	}
	return admission.Response{}, false
}
