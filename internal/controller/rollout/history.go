package rollout

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// pruneHistory deletes the oldest scaled-down revisions beyond
// revisionHistoryLimit. Revisions still holding pods are never pruned.
func (r *Reconciler) pruneHistory(ctx context.Context, st *rolloutState) error {
	limit := int(ptr.Deref(st.ro.Spec.RevisionHistoryLimit, 10))
	var idle []*revision
	for _, rev := range st.revs { // oldest first
		if rev == st.stable || rev == st.canary || rev == st.current {
			continue
		}
		if rev.replicas() == 0 && rev.pods() == 0 {
			idle = append(idle, rev)
		}
	}
	for len(idle) > limit {
		rev := idle[0]
		idle = idle[1:]
		err := r.Delete(ctx, rev.rs, client.Preconditions{UID: &rev.rs.UID, ResourceVersion: &rev.rs.ResourceVersion})
		if apierrors.IsNotFound(err) {
			continue // gone already: the cache had not seen it go
		}
		if err != nil {
			return fmt.Errorf("prune ReplicaSet %s: %w", rev.rs.Name, err)
		}
		st.news.done(rev.rs, corev1.EventTypeNormal, "RevisionPruned", "Prune",
			"Deleted ReplicaSet %s of revision %d (revisionHistoryLimit %d)", rev.rs.Name, rev.number, limit)
	}
	return nil
}
