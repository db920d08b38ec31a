package rollout

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Taking over running pods.
//
// A Rollout that owns no ReplicaSet of its own making yet (none, or only
// ReplicaSets it took over) looks for ReplicaSets that nothing
// controls and whose pods its selector matches: those that
// `kubectl delete --cascade=orphan` leaves of an Argo Rollout, of a
// Deployment, or of a Rollout deleted to be created again. If one of them
// runs the Rollout's pod template, the Rollout takes it over as its stable
// revision, pods and all, instead of starting pods of its own; the others
// become older revisions and retire as any old revision does. No pod is
// restarted and none stops serving.
//
// Ramp tells a revision's pods by a label (rampv1.LabelRevision) that its
// Services and subsets select. The adopted ReplicaSet's template gets it
// first (so that a pod it starts meanwhile has it), then its running pods;
// only then does the Rollout take the ReplicaSet (its selector, immutable,
// keeps the other controller's hash label). The Rollout then holds its
// routing for endpointPropagationSeconds (AnnotationAdoptedAt), so that
// every proxy knows the pods by their new label before a Service or subset
// selects them by it.

// revisionAnnotations order another controller's ReplicaSets: Argo
// Rollouts' and the Deployment controller's revision numbers.
var revisionAnnotations = []string{"rollout.argoproj.io/revision", "deployment.kubernetes.io/revision"}

// adoptOrphans takes over the orphaned ReplicaSets ro's selector matches,
// if one runs tmpl. It reports whether it took any. The one running tmpl
// is taken last, so a takeover a failed write cut short goes on in the
// next pass (see adopting).
func (r *Reconciler) adoptOrphans(ctx context.Context, ro *rampv1.Rollout, n *news, tmpl *corev1.PodTemplateSpec, revs []*revision) (bool, error) {
	orphans, err := r.orphans(ctx, ro)
	if err != nil || len(orphans) == 0 {
		return false, err
	}
	want, err := r.defaulted(ctx, ro, tmpl)
	if err != nil {
		return false, err
	}
	hash := rampv1.TemplateHash(tmpl, ro.Status.CollisionCount)
	var match *appsv1.ReplicaSet
	var others []*appsv1.ReplicaSet
	for _, rs := range orphans {
		// A selector pinned to another revision label (Ramp's own, of
		// another collision count) cannot take this one's.
		pinned, ok := rs.Spec.Selector.MatchLabels[rampv1.LabelRevision]
		if !equality.Semantic.DeepEqual(comparable(&rs.Spec.Template), want) || (ok && pinned != hash) ||
			(match != nil && match.Status.AvailableReplicas >= rs.Status.AvailableReplicas) {
			others = append(others, rs)
			continue
		}
		if match != nil {
			others = append(others, match)
		}
		match = rs
	}
	if match == nil {
		var serving []string
		for _, rs := range others {
			if ptr.Deref(rs.Spec.Replicas, 0) > 0 || rs.Status.Replicas > 0 {
				serving = append(serving, rs.Name)
			}
		}
		if len(serving) == 0 {
			return false, nil // nothing runs: the Rollout starts its own pods
		}
		return false, &specError{reason: "OrphansNotAdopted", retry: true, message: fmt.Sprintf(
			"ReplicaSets %s run pods spec.selector matches, and none runs spec.template, so Ramp cannot take them over "+
				"(it takes over only a ReplicaSet running the Rollout's own template): make spec.template that of the running pods "+
				"(ramp convert writes it from an Argo Rollout), or scale those ReplicaSets to 0", strings.Join(serving, ", "))}
	}
	slices.SortFunc(others, func(a, b *appsv1.ReplicaSet) int {
		return cmp.Or(cmp.Compare(revisionOf(a), revisionOf(b)), a.CreationTimestamp.Compare(b.CreationTimestamp.Time))
	})
	var number int64
	for _, rev := range revs {
		number = max(number, rev.number)
	}
	pods := 0
	if match != nil {
		// Its pods first, while it is nobody's: a pass cut short here
		// finds it an orphan still.
		if pods, err = r.relabel(ctx, match, hash); err != nil {
			return false, err
		}
	}
	// The older ones before it: once it is taken, the Rollout has its
	// revision, and a pass cut short leaves only old ones to take.
	for _, rs := range others {
		old := comparable(&rs.Spec.Template)
		oldHash := rampv1.TemplateHash(old, nil)
		if pinned, ok := rs.Spec.Selector.MatchLabels[rampv1.LabelRevision]; ok {
			oldHash = pinned // its template must keep matching its selector
		}
		if oldHash == hash || findRevision(revs, oldHash) != nil {
			continue // a second copy of a template taken: it stays an orphan
		}
		number++
		if err := r.adopt(ctx, ro, rs, oldHash, rampv1.TemplateDigest(old), number); err != nil {
			return true, err
		}
		n.done(rs, corev1.EventTypeNormal, "ReplicaSetAdopted", "Adopt",
			"Took over ReplicaSet %s as old revision %d; it retires as old revisions do", rs.Name, number)
	}
	if match != nil {
		number++
		if err := r.adopt(ctx, ro, match, hash, rampv1.TemplateDigest(tmpl), number); err != nil {
			return true, err
		}
		n.done(match, corev1.EventTypeNormal, "ReplicaSetAdopted", "Adopt",
			"Took over ReplicaSet %s and its %d pods as revision %d: it runs spec.template; routing waits %s for proxies to learn the pods' new label",
			match.Name, pods, number, endpointPropagation(ro))
	}
	return true, nil
}

// adopting reports whether the Rollout may still take over orphans: it
// has no revision but those it took over (and, the caller checks, none of
// them runs its template yet: once one does, the takeover is complete and
// no pass lists orphans again).
func adopting(revs []*revision) bool {
	for _, rev := range revs {
		if rev.rs.Annotations[rampv1.AnnotationAdoptedAt] == "" {
			return false
		}
	}
	return true
}

// orphans lists the ReplicaSets no controller owns whose pods ro's
// selector matches. One that still belongs to an Argo Rollout holds the
// Rollout until that Rollout is deleted (orphaning it).
func (r *Reconciler) orphans(ctx context.Context, ro *rampv1.Rollout) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil {
		return nil, &specError{reason: "InvalidSpec", message: "spec.selector: " + err.Error()}
	}
	var list appsv1.ReplicaSetList
	if err := r.List(ctx, &list, client.InNamespace(ro.Namespace)); err != nil {
		return nil, err
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		rs := &list.Items[i]
		if rs.DeletionTimestamp != nil || !sel.Matches(labels.Set(rs.Spec.Template.Labels)) {
			continue
		}
		owner := metav1.GetControllerOf(rs)
		if owner != nil && owner.Kind == "Rollout" && strings.HasPrefix(owner.APIVersion, "argoproj.io/") {
			return nil, &specError{reason: "ArgoRolloutRunning", retry: true, message: fmt.Sprintf(
				"ReplicaSet %s runs pods spec.selector matches and belongs to Argo Rollouts' Rollout %s: delete that Rollout "+
					"and keep its pods (kubectl delete rollouts.argoproj.io %s --cascade=orphan), and this Rollout takes them over",
				rs.Name, owner.Name, owner.Name)}
		}
		if owner == nil {
			out = append(out, rs)
		}
	}
	return out, nil
}

// defaulted returns tmpl as the API server stores it in a ReplicaSet, with
// every default filled in, as comparable returns a running one: a dry-run
// create tells, with no guess at the server's defaults.
func (r *Reconciler) defaulted(ctx context.Context, ro *rampv1.Rollout, tmpl *corev1.PodTemplateSpec) (*corev1.PodTemplateSpec, error) {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{GenerateName: ro.Name + "-", Namespace: ro.Namespace},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0), Selector: ro.Spec.Selector.DeepCopy(), Template: *tmpl.DeepCopy()},
	}
	if err := r.Create(ctx, rs, client.DryRunAll); err != nil {
		return nil, fmt.Errorf("fill in spec.template's defaults (dry run): %w", err)
	}
	return comparable(&rs.Spec.Template), nil
}

// comparable is a pod template without the labels controllers add to
// tell revisions apart.
func comparable(tmpl *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	out := tmpl.DeepCopy()
	for _, l := range append(slices.Clone(traffic.ForeignRevisionLabels), rampv1.LabelRevision) {
		delete(out.Labels, l)
	}
	if len(out.Labels) == 0 {
		out.Labels = nil
	}
	return out
}

func revisionOf(rs *appsv1.ReplicaSet) int64 {
	for _, a := range revisionAnnotations {
		if v, err := strconv.ParseInt(rs.Annotations[a], 10, 64); err == nil {
			return v
		}
	}
	return 0
}

// relabel gives rs's template and its running pods the revision label,
// and returns how many pods it has.
func (r *Reconciler) relabel(ctx context.Context, rs *appsv1.ReplicaSet, hash string) (int, error) {
	if rs.Spec.Template.Labels[rampv1.LabelRevision] != hash {
		orig := rs.DeepCopy()
		if rs.Spec.Template.Labels == nil {
			rs.Spec.Template.Labels = map[string]string{}
		}
		rs.Spec.Template.Labels[rampv1.LabelRevision] = hash
		if err := r.Patch(ctx, rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return 0, fmt.Errorf("label ReplicaSet %s's pod template: %w", rs.Name, err)
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return 0, err
	}
	// Pods are read from the API server, never cached: this list sees
	// every pod started before the template got the label.
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(rs.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return 0, err
	}
	count := 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !metav1.IsControlledBy(pod, rs) {
			continue
		}
		count++
		if pod.Labels[rampv1.LabelRevision] == hash {
			continue
		}
		orig := pod.DeepCopy()
		pod.Labels[rampv1.LabelRevision] = hash
		if err := r.Patch(ctx, pod, client.MergeFrom(orig)); err != nil {
			return count, fmt.Errorf("label pod %s: %w", pod.Name, err)
		}
	}
	return count, nil
}

// adopt makes rs a revision of ro, as ensureRevision would have made it.
func (r *Reconciler) adopt(ctx context.Context, ro *rampv1.Rollout, rs *appsv1.ReplicaSet, hash, digest string, number int64) error {
	orig := rs.DeepCopy()
	if err := controllerutil.SetControllerReference(ro, rs, r.Scheme); err != nil {
		return err
	}
	if rs.Labels == nil {
		rs.Labels = map[string]string{}
	}
	maps.Copy(rs.Labels, rampv1.CreatedLabels(ro.Name))
	rs.Labels[rampv1.LabelRevision] = hash
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[rampv1.AnnotationRevisionNumber] = strconv.FormatInt(number, 10)
	rs.Annotations[rampv1.AnnotationTemplateDigest] = digest
	rs.Annotations[rampv1.AnnotationAdoptedAt] = r.Clock.Now().UTC().Format(time.RFC3339)
	if err := r.Patch(ctx, rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("take over ReplicaSet %s: %w", rs.Name, err)
	}
	return nil
}

// adoptionHold is how long the Rollout's routing must still wait after a
// ReplicaSet was taken over: until endpointPropagationSeconds have passed
// since, the pods' new label may not have reached every proxy.
func adoptionHold(ro *rampv1.Rollout, revs []*revision, now time.Time) time.Duration {
	var wait time.Duration
	for _, rev := range revs {
		at, err := time.Parse(time.RFC3339, rev.rs.Annotations[rampv1.AnnotationAdoptedAt])
		if err != nil {
			continue
		}
		// RFC 3339 keeps whole seconds: the second begun counts in full.
		wait = max(wait, at.Add(time.Second+endpointPropagation(ro)).Sub(now))
	}
	return wait
}
