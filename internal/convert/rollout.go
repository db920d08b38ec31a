package convert

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// metadata converts an object's metadata: what the user wrote, without
// what the API server and Argo's controller set.
func metadata(c *converter, n *node) metav1.ObjectMeta {
	n.take("apiVersion")
	n.take("kind")
	n.take("status")
	md := n.obj("metadata")
	if md == nil {
		n.problem("metadata", "required: the object has no metadata")
		return metav1.ObjectMeta{}
	}
	var out metav1.ObjectMeta
	out.Name, _ = md.str("name")
	out.GenerateName, _ = md.str("generateName")
	out.Namespace, _ = md.str("namespace")
	c.name, c.namespace = out.Name, out.Namespace
	out.Labels = md.strMap("labels")
	for k, v := range md.strMap("annotations") {
		if k == ServiceAnnotation {
			c.service = v
			continue
		}
		if strings.HasPrefix(k, "rollout.argoproj.io/") || strings.HasPrefix(k, "argo-rollouts.argoproj.io/") || k == "kubectl.kubernetes.io/last-applied-configuration" {
			continue
		}
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[k] = v
	}
	for _, k := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"} {
		md.take(k)
	}
	if v, ok := md.m["finalizers"].([]any); ok && len(v) == 0 {
		md.take("finalizers")
	}
	md.done()
	return out
}

// rollout converts a Rollout.
func rollout(c *converter, n *node) runtime.Object {
	ro := &rampv1.Rollout{TypeMeta: metav1.TypeMeta{APIVersion: rampv1.GroupVersion.String(), Kind: "Rollout"}}
	ro.ObjectMeta = metadata(c, n)
	spec := n.obj("spec")
	if spec == nil {
		n.problem("spec", "required: the Rollout has no spec")
		return ro
	}
	s := &ro.Spec
	s.Replicas, _ = spec.int32("replicas", 0)
	if v, ok := spec.take("selector"); ok {
		s.Selector = &metav1.LabelSelector{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(asMap(v), s.Selector); err != nil {
			spec.problem("selector", "not a label selector: %v", err)
		}
	}
	if v, ok := spec.take("template"); ok {
		s.Template = &corev1.PodTemplateSpec{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(asMap(v), s.Template); err != nil {
			spec.problem("template", "not a pod template: %v", err)
		}
	}
	if w := spec.obj("workloadRef"); w != nil {
		workloadRef(c, w, s)
		// Argo resolves the template from the Deployment; an empty one
		// in the manifest means nothing.
		if s.Template != nil && len(s.Template.Labels) == 0 && len(s.Template.Spec.Containers) == 0 {
			s.Template = nil
		}
	}
	if v, ok := spec.int32("minReadySeconds", 0); ok {
		s.MinReadySeconds = *v
	}
	s.RevisionHistoryLimit, _ = spec.int32("revisionHistoryLimit", 0)
	s.Paused, _ = spec.boolean("paused")
	s.ProgressDeadlineSeconds, _ = spec.int32("progressDeadlineSeconds", 1)
	// Ramp always rolls back at the deadline: true is what it does, false
	// Argo's default (docs/migrating.md, where the defaults differ).
	spec.boolean("progressDeadlineAbort")
	if a := spec.obj("analysis"); a != nil {
		ok, succ := true, int64(5)
		if v, found := a.integer("successfulRunHistoryLimit"); found {
			succ = v
		}
		fail := int64(5)
		if v, found := a.integer("unsuccessfulRunHistoryLimit"); found {
			fail = v
		}
		if succ < 0 || fail < 0 {
			a.problem("", "history limits cannot be negative")
			ok = false
		}
		if ok {
			s.AnalysisRunHistoryLimit = ptr.To(int32(succ + fail))
		}
		a.done()
	}
	if st := spec.obj("strategy"); st != nil {
		strategy(c, st, ro)
		st.done()
		if ro.Spec.Service == "" {
			ro.Spec.Service = c.service
		}
	} else {
		spec.problem("strategy", "required: Ramp needs a canary or blueGreen strategy")
	}
	spec.done()
	return ro
}

func workloadRef(c *converter, w *node, s *rampv1.RolloutSpec) {
	// Argo's workloadRef is Ramp's Adopt mode: its Rollout runs the
	// Deployment's template and scales the Deployment down.
	ref := &rampv1.WorkloadRef{Mode: rampv1.WorkloadAdopt}
	if v, ok := w.str("apiVersion"); ok && v != "apps/v1" {
		w.problem("apiVersion", "%s: Ramp adopts apps/v1 Deployments only", v)
	}
	if v, ok := w.str("kind"); ok && v != "Deployment" {
		w.problem("kind", "%s: Ramp adopts Deployments only; convert the workload to a Deployment, or move its pod template into spec.template", v)
	}
	ref.Name, _ = w.str("name")
	if v, ok := w.str("scaleDown"); ok && !strings.EqualFold(v, "onsuccess") {
		w.problem("scaleDown", "%s: Ramp's Adopt mode scales the Deployment to zero once the Rollout's first revision is available (Argo's onsuccess) and cannot keep it running beside the Rollout's pods or scale it progressively; set scaleDown: onsuccess to accept that, or run the Deployment in place (workloadRef.mode: InPlace, with a mesh router: the Deployment keeps serving and Ramp runs only the canary; docs/workloads.md)", v)
	}
	w.done()
	s.WorkloadRef = ref
	if s.Selector == nil {
		// Argo takes the selector from the Deployment; Ramp needs it
		// written. The Deployment may be among the objects converted.
		if d := c.idx.find("Deployment.apps", ref.Name, c.namespace); d != nil {
			if sel, ok := asMap(d.Object["spec"])["selector"].(map[string]any); ok {
				s.Selector = &metav1.LabelSelector{}
				_ = runtime.DefaultUnstructuredConverter.FromUnstructured(sel, s.Selector)
			}
		}
		if s.Selector == nil {
			w.c.problem("spec.selector", "Ramp needs the selector written in the Rollout, and Argo takes it from the Deployment: give the Deployment "+ref.Name+" beside the Rollout (-f deployment.yaml), or copy its spec.selector into the Rollout")
		}
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
