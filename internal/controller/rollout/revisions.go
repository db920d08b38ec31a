package rollout

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// revision is one pod template of a Rollout and the ReplicaSet that runs it.
type revision struct {
	rs     *appsv1.ReplicaSet
	hash   string
	number int64
	// external: the ReplicaSet is a Deployment's that the Rollout runs in
	// place (inplace.go); Ramp reads it and never writes it.
	external bool
	// labels select an external revision's pods (see selector).
	labels map[string]string
}

// selector is the labels that select the revision's pods, when they are
// not the revision label Ramp gives its own (traffic.Target.StableLabels).
func (r *revision) selector() map[string]string {
	switch {
	case !r.external:
		return nil
	case r.labels != nil:
		return r.labels // a StatefulSet's: its controller-revision-hash
	}
	return map[string]string{podTemplateHashLabel: r.rs.Labels[podTemplateHashLabel]}
}

func (r *revision) replicas() int32  { return ptr.Deref(r.rs.Spec.Replicas, 0) }
func (r *revision) pods() int32      { return r.rs.Status.Replicas }
func (r *revision) ready() int32     { return r.rs.Status.ReadyReplicas }
func (r *revision) available() int32 { return r.rs.Status.AvailableReplicas }

// settled reports whether the ReplicaSet has caught up with its spec: its
// controller saw the last change and the pods it asked for exist.
func (r *revision) settled() bool {
	return r.rs.Status.ObservedGeneration >= r.rs.Generation && r.pods() == r.replicas()
}

// listRevisions returns the ReplicaSets the Rollout owns, oldest first.
func (r *Reconciler) listRevisions(ctx context.Context, ro *rampv1.Rollout) ([]*revision, error) {
	var list appsv1.ReplicaSetList
	if err := r.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingFields{ownerIndex: ro.Name}); err != nil {
		return nil, err
	}
	revs := make([]*revision, 0, len(list.Items))
	for i := range list.Items {
		rs := &list.Items[i]
		if !metav1.IsControlledBy(rs, ro) || rs.DeletionTimestamp != nil {
			continue
		}
		n, _ := strconv.ParseInt(rs.Annotations[rampv1.AnnotationRevisionNumber], 10, 64)
		revs = append(revs, &revision{rs: rs, hash: rs.Labels[rampv1.LabelRevision], number: n})
	}
	slices.SortFunc(revs, func(a, b *revision) int { return int(a.number - b.number) })
	return revs, nil
}

func findRevision(revs []*revision, hash string) *revision {
	for _, rev := range revs {
		if rev.hash == hash {
			return rev
		}
	}
	return nil
}

// ensureRevision returns the revision running tmpl, creating its ReplicaSet
// at zero replicas if needed. When another template already holds the
// hash's name, it bumps status.collisionCount and reports errCollision so
// the next pass hashes again.
func (r *Reconciler) ensureRevision(ctx context.Context, ro *rampv1.Rollout, n *news, tmpl *corev1.PodTemplateSpec, revs []*revision) (*revision, []*revision, error) {
	hash := rampv1.TemplateHash(tmpl, ro.Status.CollisionCount)
	if rev := findRevision(revs, hash); rev != nil {
		if !sameTemplate(rev.rs, tmpl) {
			return nil, revs, r.collision(ro, n, rev.rs.Name)
		}
		return rev, revs, nil
	}
	next := int64(1)
	for _, rev := range revs {
		next = max(next, rev.number+1)
	}
	rs := newReplicaSet(ro, tmpl, hash, next)
	if err := controllerutil.SetControllerReference(ro, rs, r.Scheme); err != nil {
		return nil, revs, err
	}
	if err := r.Create(ctx, rs); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, revs, err
		}
		// The cache had not seen it yet, or someone else owns that name.
		existing := &appsv1.ReplicaSet{}
		if err := r.Get(ctx, client.ObjectKeyFromObject(rs), existing); err != nil {
			return nil, revs, err
		}
		if !metav1.IsControlledBy(existing, ro) || !sameTemplate(existing, tmpl) {
			return nil, revs, r.collision(ro, n, existing.Name)
		}
		rs = existing
	} else {
		n.done(rs, corev1.EventTypeNormal, "RevisionCreated", "Created",
			"Created ReplicaSet %s for revision %d", rs.Name, next)
	}
	rev := &revision{rs: rs, hash: hash, number: next}
	return rev, append(revs, rev), nil
}

// collision records that two templates hash alike: the next hash differs.
func (r *Reconciler) collision(ro *rampv1.Rollout, n *news, name string) error {
	ro.Status.CollisionCount = ptr.To(ptr.Deref(ro.Status.CollisionCount, 0) + 1)
	n.decided(corev1.EventTypeWarning, "HashCollision", "Rehash",
		"ReplicaSet %s exists with another pod template; collision count is now %d", name, *ro.Status.CollisionCount)
	return errCollision
}

var errCollision = fmt.Errorf("pod-template hash collision")

// sameTemplate reports whether a ReplicaSet runs tmpl. The API server
// fills defaults into a ReplicaSet's template that the Rollout's lacks, so
// templates are compared by the digest recorded at creation.
func sameTemplate(rs *appsv1.ReplicaSet, tmpl *corev1.PodTemplateSpec) bool {
	return rs.Annotations[rampv1.AnnotationTemplateDigest] == rampv1.TemplateDigest(tmpl)
}

// revisionTemplate is tmpl with the revision label added.
func revisionTemplate(tmpl *corev1.PodTemplateSpec, hash string) *corev1.PodTemplateSpec {
	out := tmpl.DeepCopy()
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	out.Labels[rampv1.LabelRevision] = hash
	return out
}

func newReplicaSet(ro *rampv1.Rollout, tmpl *corev1.PodTemplateSpec, hash string, number int64) *appsv1.ReplicaSet {
	selector := ro.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[rampv1.LabelRevision] = hash
	labels := maps.Clone(tmpl.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	// As a Deployment's: the pods' labels, and what tells Ramp's apart (a
	// label value holds 63 characters; a longer name is left out, the
	// owner reference still says whose it is).
	maps.Copy(labels, rampv1.CreatedLabels(ro.Name))
	if len(ro.Name) > validation.LabelValueMaxLength {
		delete(labels, rampv1.LabelRollout)
	}
	labels[rampv1.LabelRevision] = hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ro.Name + "-" + hash,
			Namespace: ro.Namespace,
			Labels:    labels,
			Annotations: map[string]string{
				rampv1.AnnotationRevisionNumber: strconv.FormatInt(number, 10),
				rampv1.AnnotationTemplateDigest: rampv1.TemplateDigest(tmpl),
			},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To[int32](0),
			MinReadySeconds: ro.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        *revisionTemplate(tmpl, hash),
		},
	}
}

// renumber gives a canary that reuses an old ReplicaSet (an undo to an
// earlier template) the next revision number, so that revision order stays
// the order in which templates were rolled out.
func (r *Reconciler) renumber(ctx context.Context, st *rolloutState) error {
	if st.canary == nil || st.canary.external {
		return nil // a StatefulSet's revisions are numbered by it
	}
	var newest int64
	for _, rev := range st.revs {
		newest = max(newest, rev.number)
	}
	if st.canary.number == newest {
		return nil
	}
	rs := st.canary.rs
	orig := rs.DeepCopy()
	rs.Annotations[rampv1.AnnotationRevisionNumber] = strconv.FormatInt(newest+1, 10)
	if err := r.Patch(ctx, rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("renumber ReplicaSet %s: %w", rs.Name, err)
	}
	st.canary.number = newest + 1
	return nil
}
