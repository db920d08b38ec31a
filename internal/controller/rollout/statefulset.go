package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// A StatefulSet run in place (spec.workloadRef.kind StatefulSet).
//
// Its pods stay its own: Ramp writes nothing of the StatefulSet but
// spec.updateStrategy.rollingUpdate.partition, never creates a pod of it,
// and has no rights on PersistentVolumeClaims, so no volume can go. Its
// revisions are its ControllerRevisions, whose names its pods carry in the
// controller-revision-hash label, by which the routers select them
// (revision.labels). The pods from the partition's ordinal up run the
// update revision: they are the canary, highest ordinals first, and a step
// lowers the partition to give the canary its share of the pods. The
// canary's pods replace stable ones (there is no room beside them), so
// with a mesh router one stable pod at least stays while the stable side
// has traffic, and the promotion does not wait for a full-scale canary:
// the stable side moves to the canary's pods, and scaleDownDelaySeconds
// later the partition goes to 0 and the StatefulSet replaces the rest. A
// rollback raises the partition back (no pod changes) and, once no proxy
// sends the canary a request, restores the updated pods one at a time
// (restoreVictim), each recreated by the StatefulSet at the stable
// revision and waited for.

// errWorkloadBehind: the workload's controller has not caught up with its
// spec yet (a new template's ControllerRevision); the pass runs again soon.
var errWorkloadBehind = errors.New("workload controller behind its spec")

// statefulSet is what a pass reads of a StatefulSet run in place.
type statefulSet struct {
	sts  *appsv1.StatefulSet
	pods []*corev1.Pod // its pods, by ordinal
	// names maps the pod-template hash (Ramp's) of each of its
	// ControllerRevisions to its name, which its pods carry.
	names map[string]string
}

// labels selects the pods of the revision hash; nil if it has none.
func (s *statefulSet) labels(hash string) map[string]string {
	if name, ok := s.names[hash]; ok {
		return map[string]string{appsv1.ControllerRevisionHashLabelKey: name}
	}
	return nil
}

// runs reports whether a pod runs the ControllerRevision name.
func (s *statefulSet) runs(name string) bool {
	for _, p := range s.pods {
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] == name {
			return true
		}
	}
	return false
}

func (s *statefulSet) replicas() int32 { return ptr.Deref(s.sts.Spec.Replicas, 1) }

// partition is the StatefulSet's partition, within [0, replicas].
func (s *statefulSet) partition() int32 {
	p := int32(0)
	if ru := s.sts.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		p = ptr.Deref(ru.Partition, 0)
	}
	return min(max(p, 0), s.replicas())
}

// statefulSetRevisions finds the stable revision of a StatefulSet and the
// revision its template is, recording the stable one in status on the
// first pass.
func (r *Reconciler) statefulSetRevisions(ctx context.Context, ro *rampv1.Rollout, n *news, sts *appsv1.StatefulSet) (stable, current *revision, set *statefulSet, err error) {
	if t := sts.Spec.UpdateStrategy.Type; t != "" && t != appsv1.RollingUpdateStatefulSetStrategyType {
		return nil, nil, nil, &specError{reason: "WorkloadNotRollable", message: fmt.Sprintf(
			"spec.workloadRef: StatefulSet %s has updateStrategy %s; Ramp paces it with the partition of a RollingUpdate strategy: set spec.updateStrategy.type to RollingUpdate", sts.Name, t)}
	}
	if sts.Status.ObservedGeneration < sts.Generation {
		return nil, nil, nil, errWorkloadBehind // its update revision may not exist yet
	}
	names, numbers, err := r.controllerRevisions(ctx, ro, sts)
	if err != nil {
		return nil, nil, nil, err
	}
	set = &statefulSet{sts: sts, names: names}
	if set.pods, err = r.statefulSetPods(ctx, sts); err != nil {
		return nil, nil, nil, err
	}
	s := &ro.Status
	hash := rampv1.TemplateHash(&sts.Spec.Template, s.CollisionCount)
	if s.StableRevision == "" {
		// As for a Deployment: only once it runs one template everywhere.
		if st := sts.Status; st.CurrentRevision != st.UpdateRevision || st.UpdatedReplicas != set.replicas() || st.ReadyReplicas != set.replicas() {
			return nil, nil, nil, &specError{reason: "WorkloadNotSettled", retry: true, message: fmt.Sprintf(
				"spec.workloadRef: StatefulSet %s is rolling out a new template (or stopped in the middle of one by its partition: %d of %d pods updated, %d ready); Ramp runs it in place once every pod runs one template: let its rollout finish, or revert its template",
				sts.Name, st.UpdatedReplicas, set.replicas(), st.ReadyReplicas)}
		}
		s.StableRevision = hash
	}
	if _, ok := names[hash]; !ok && sts.Status.UpdateRevision != "" {
		// Its controller has seen the template (observedGeneration) and
		// named its revision, which Ramp's hash did not find: a template
		// the ControllerRevision stores otherwise (defaults of a newer
		// API, say). The update revision is the template's.
		names[hash], numbers[hash] = sts.Status.UpdateRevision, 0
	}
	if name, ok := names[s.StableRevision]; !ok || (name != sts.Status.CurrentRevision && !set.runs(name)) {
		// Gone, or no pod runs it any more while the StatefulSet's
		// current revision is another: its template changed and rolled
		// out while Ramp was away (no webhook, no controller).
		hash := hashOfName(names, sts.Status.CurrentRevision)
		if hash == "" {
			return nil, nil, nil, errWorkloadBehind
		}
		n.decided(corev1.EventTypeWarning, "StableRevisionMissing", "Recover",
			"StatefulSet %s no longer has stable revision %s; its current revision %s becomes stable", sts.Name, s.StableRevision, sts.Status.CurrentRevision)
		s.StableRevision = hash
	}
	if _, ok := names[hash]; !ok {
		return nil, nil, nil, errWorkloadBehind
	}
	if hash != s.StableRevision && isMesh(ro) && set.replicas() < 2 {
		// Its canary's pods replace stable ones, and one stable pod must
		// stay while the stable side has traffic.
		return nil, nil, nil, &specError{reason: "WorkloadTooSmall", retry: true, message: fmt.Sprintf(
			"spec.workloadRef: StatefulSet %s has %d replica; a canary through a mesh router replaces some of its pods and keeps one stable pod at least, so it needs 2 replicas or more: scale it up, or revert its template", sts.Name, set.replicas())}
	}
	// A revision's ReplicaSet here is in memory only: the counts the
	// engine reads of a revision (replicas: the ordinals the partition
	// gives it), from the pods that carry its name.
	rev := func(hash string, replicas int32) *revision {
		name := names[hash]
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1}}
		rs.Spec.Replicas = ptr.To(replicas)
		rs.Status.ObservedGeneration = 1
		for _, p := range set.pods {
			if p.Labels[appsv1.ControllerRevisionHashLabelKey] != name {
				continue
			}
			rs.Status.Replicas++
			if podReady(p) {
				rs.Status.ReadyReplicas++
				if podAvailable(p, sts.Spec.MinReadySeconds, r.Clock.Now()) {
					rs.Status.AvailableReplicas++
				}
			}
		}
		return &revision{rs: rs, hash: hash, number: numbers[hash], external: true, labels: set.labels(hash)}
	}
	if hash == s.StableRevision {
		stable = rev(hash, set.replicas())
		return stable, stable, set, nil
	}
	// The pods below the partition are the stable revision's, the others
	// the canary's.
	return rev(s.StableRevision, set.partition()), rev(hash, set.replicas()-set.partition()), set, nil
}

// controllerRevisions maps the pod-template hash (Ramp's) of each of the
// StatefulSet's ControllerRevisions to its name, and to its number.
func (r *Reconciler) controllerRevisions(ctx context.Context, ro *rampv1.Rollout, sts *appsv1.StatefulSet) (map[string]string, map[string]int64, error) {
	var list appsv1.ControllerRevisionList
	if err := r.List(ctx, &list, client.InNamespace(sts.Namespace)); err != nil {
		return nil, nil, err
	}
	names, numbers := map[string]string{}, map[string]int64{}
	for i := range list.Items {
		cr := &list.Items[i]
		if !metav1.IsControlledBy(cr, sts) {
			continue
		}
		// The StatefulSet controller stores its template as a patch.
		var data struct {
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(cr.Data.Raw, &data); err != nil {
			continue // not one the StatefulSet controller wrote
		}
		hash := rampv1.TemplateHash(&data.Spec.Template, ro.Status.CollisionCount)
		if numbers[hash] < cr.Revision {
			names[hash], numbers[hash] = cr.Name, cr.Revision
		}
	}
	return names, numbers, nil
}

func hashOfName(names map[string]string, name string) string {
	for h, n := range names {
		if n == name {
			return h
		}
	}
	return ""
}

// statefulSetPods lists the StatefulSet's pods, by ordinal.
func (r *Reconciler) statefulSetPods(ctx context.Context, sts *appsv1.StatefulSet) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, err
	}
	var list corev1.PodList
	if err := r.List(ctx, &list, client.InNamespace(sts.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	for i := range list.Items {
		if p := &list.Items[i]; metav1.IsControlledBy(p, sts) && ordinal(p) >= 0 {
			pods = append(pods, p)
		}
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return ordinal(a) - ordinal(b) })
	return pods, nil
}

// ordinal is a StatefulSet pod's ordinal, from its name; -1 if none.
func ordinal(p *corev1.Pod) int {
	i := strings.LastIndexByte(p.Name, '-')
	n, err := strconv.Atoi(p.Name[i+1:])
	if i < 0 || err != nil {
		return -1
	}
	return n
}

// pace moves the partition of a StatefulSet run in place to where this
// pass's plan puts the canary, and restores, one at a time, pods below it
// that run another revision than the stable one.
func (r *Reconciler) pace(ctx context.Context, st *rolloutState) error {
	set := st.statefulSet
	if set == nil {
		return nil
	}
	s := &st.ro.Status
	if s.Workload == nil {
		s.Workload = &rampv1.WorkloadStatus{}
	}
	w := s.Workload
	n, cur := set.replicas(), set.partition()
	var want int32
	restore := false
	switch t := targetOf(st, st.canary); {
	case st.draining != "" && st.draining != st.stable.hash:
		// Proxies may still send requests to a revision the routing no
		// longer names (a rollback's, a replaced or reverted canary's):
		// no pod changes until they have dropped it. A higher partition
		// changes none.
		want = n
	case st.current == st.stable: // the template is the stable one: nothing to hold
		if wait := statefulSetResumeDue(st); wait > 0 {
			want = cur
			st.requeueAfter(wait)
		}
	case t != nil && t.hold && st.plan.Promoting:
		want = cur // the promotion moves the stable side to the canary's pods as they are
	case t == nil || t.hold:
		want = n
	default:
		want, restore = n-min(t.want, n), true
	}
	if st.canary != nil && !w.Paused && cur < n && w.PromotedAt == nil {
		caught(st, cur)
	}
	if want != cur || (want > 0 && set.sts.Spec.UpdateStrategy.RollingUpdate == nil) {
		if err := r.setPartition(ctx, set.sts, want); err != nil {
			return err
		}
		switch {
		case st.canary != nil:
			st.news.done(set.sts, corev1.EventTypeNormal, "PartitionSet", "Scale",
				"StatefulSet %s's partition set from %d to %d, so that %d of its %d pods run canary revision %d", set.sts.Name, cur, want, n-want, n, st.canary.number)
		case w.PromotedAt != nil:
			st.news.done(set.sts, corev1.EventTypeNormal, "WorkloadResumed", "Resume",
				"StatefulSet %s's partition set to 0: it replaces its remaining pods with revision %d's template", set.sts.Name, st.stable.number)
		case want == 0:
			st.news.done(set.sts, corev1.EventTypeNormal, "WorkloadResumed", "Resume",
				"StatefulSet %s's partition set to 0: its template is stable revision %d", set.sts.Name, st.stable.number)
		}
	}
	if want == 0 && st.canary == nil {
		w.PromotedAt = nil
	}
	w.Paused = want > 0 || st.canary != nil
	if restore {
		return r.restorePod(ctx, st, want)
	}
	return nil
}

// caught says that a new template went through without the webhook's
// hold (partition cur, below the replicas): the StatefulSet controller
// may have replaced pods before Ramp set the partition.
func caught(st *rolloutState, cur int32) {
	sts := st.statefulSet.sts
	if started := st.canary.pods(); started > 0 {
		st.news.done(sts, corev1.EventTypeWarning, "WorkloadRolloutCaught", "Hold",
			"StatefulSet %s's template changed while Ramp's admission webhook did not answer (partition %d), and it had replaced %d pods before Ramp set its partition; the canary runs as usual from there", sts.Name, cur, started)
		return
	}
	st.news.done(sts, corev1.EventTypeNormal, "WorkloadPaused", "Hold",
		"StatefulSet %s's template changed while Ramp's admission webhook did not answer; Ramp set its partition before it replaced a pod", sts.Name)
}

// statefulSetResumeDue is how long a promoted template still waits before
// the StatefulSet replaces the pods of the old one: with a mesh router,
// until scaleDownDelaySeconds after the promotion, when no proxy sends
// them a request.
func statefulSetResumeDue(st *rolloutState) time.Duration {
	if !st.mesh {
		return 0 // pod ratio: they serve through the root Service as in any rolling update
	}
	return sincePromotion(st.ro, st.now)
}

func targetOf(st *rolloutState, rev *revision) *scaleTarget {
	for i := range st.targets {
		if st.targets[i].rev == rev {
			return &st.targets[i]
		}
	}
	return nil
}

// restorePod deletes a pod below partition that runs another revision
// than the stable one, so that the StatefulSet recreates it at the stable
// revision, its volumes kept: by UID, never a newer pod of that name. Only
// when the StatefulSet's current revision is the stable one (it recreates
// pods at that), and one at a time (see restoreVictim).
func (r *Reconciler) restorePod(ctx context.Context, st *rolloutState, partition int32) error {
	set := st.statefulSet
	stable := st.stable.labels[appsv1.ControllerRevisionHashLabelKey]
	if set.sts.Status.CurrentRevision != stable {
		return nil // it would recreate them at another revision
	}
	victim, wait := restoreVictim(set.pods, set.replicas(), partition, stable)
	if wait {
		st.requeueAfter(pollHandBack)
	}
	if victim == nil || wait {
		return nil
	}
	err := r.Delete(ctx, victim, client.Preconditions{UID: &victim.UID, ResourceVersion: &victim.ResourceVersion})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("restore pod %s: %w", victim.Name, err)
	}
	st.news.done(victim, corev1.EventTypeNormal, "PodRestored", "Rollback",
		"Deleted pod %s (revision %s) so that StatefulSet %s recreates it at stable revision %d, with its volumes", victim.Name,
		victim.Labels[appsv1.ControllerRevisionHashLabelKey], set.sts.Name, st.stable.number)
	st.requeueAfter(pollHandBack)
	return nil
}

// restoreVictim picks the next pod below partition to bring back to the
// stable revision: an unready one first, lowest ordinal first (a
// StatefulSet with OrderedReady pods waits on it before it recreates any
// pod above it), else the highest ordinal. wait: one is to be restored,
// but the last one is not back yet (a pod missing, going, or of the
// stable revision and not ready).
func restoreVictim(pods []*corev1.Pod, replicas, partition int32, stable string) (victim *corev1.Pod, wait bool) {
	var unready, highest *corev1.Pod
	busy := int32(len(pods)) < replicas
	for _, p := range pods {
		switch rev := p.Labels[appsv1.ControllerRevisionHashLabelKey]; {
		case p.DeletionTimestamp != nil || (rev == stable && !podReady(p)):
			busy = true
		case rev == stable || ordinal(p) >= int(partition):
		case !podReady(p) && unready == nil:
			unready = p
		default:
			highest = p
		}
	}
	victim = highest
	if unready != nil {
		victim = unready
	}
	return victim, victim != nil && busy
}

// setPartition writes the StatefulSet's partition, and nothing else.
func (r *Reconciler) setPartition(ctx context.Context, sts *appsv1.StatefulSet, partition int32) error {
	orig := sts.DeepCopy()
	if sts.Spec.UpdateStrategy.RollingUpdate == nil {
		sts.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
	}
	sts.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To(partition)
	if err := r.Patch(ctx, sts, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("set StatefulSet %s partition=%d: %w", sts.Name, partition, err)
	}
	return nil
}

// podReady reports whether a pod is ready and not going.
func podReady(p *corev1.Pod) bool {
	c := readyCondition(p)
	return p.DeletionTimestamp == nil && c != nil && c.Status == corev1.ConditionTrue
}

// podAvailable reports whether a ready pod has been so for minReady seconds.
func podAvailable(p *corev1.Pod, minReady int32, now time.Time) bool {
	c := readyCondition(p)
	return minReady == 0 || (c != nil && !c.LastTransitionTime.Add(time.Duration(minReady)*time.Second).After(now))
}

func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
