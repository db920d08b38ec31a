// Package snapshot reads one Rollout and what it owns — its ReplicaSets,
// the AnalysisRuns and HookRuns of its canary, its events — as `ramp status`
// and the dashboard show them.
package snapshot

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Snapshot is one Rollout and what it owns.
type Snapshot struct {
	Rollout     *rampv1.Rollout
	ReplicaSets []appsv1.ReplicaSet
	// AnalysisRuns and HookRuns of the canary in flight, or of the last
	// one rolled back.
	AnalysisRuns []rampv1.AnalysisRun
	HookRuns     []rampv1.HookRun
	// Events about the Rollout, oldest first.
	Events []eventsv1.Event
}

// Event fields Read selects on. A cache-backed reader needs them indexed
// (see IndexEvents).
const (
	FieldRegardingKind = "regarding.kind"
	FieldRegardingName = "regarding.name"
)

// Read reads the Rollout at key and what it owns. The error of a missing
// Rollout is the API's NotFound.
func Read(ctx context.Context, r client.Reader, key client.ObjectKey) (*Snapshot, error) {
	ro := &rampv1.Rollout{}
	if err := r.Get(ctx, key, ro); err != nil {
		return nil, err
	}
	snap := &Snapshot{Rollout: ro}
	in := client.InNamespace(key.Namespace)
	owned := client.MatchingLabels{rampv1.LabelRollout: ro.Name}
	var rss appsv1.ReplicaSetList
	if err := r.List(ctx, &rss, in); err != nil {
		return nil, err
	}
	for _, rs := range rss.Items {
		if ref := metav1.GetControllerOfNoCopy(&rs); ref != nil && ref.UID == ro.UID {
			snap.ReplicaSets = append(snap.ReplicaSets, rs)
		}
	}
	var ars rampv1.AnalysisRunList
	if err := r.List(ctx, &ars, in, owned); err != nil {
		return nil, err
	}
	var hrs rampv1.HookRunList
	if err := r.List(ctx, &hrs, in, owned); err != nil {
		return nil, err
	}
	rev := ro.Status.CanaryRevision
	if rev == "" && ro.Status.Abort != nil {
		rev = ro.Status.Abort.Revision
	}
	for _, run := range ars.Items {
		if run.Labels[rampv1.LabelRevision] == rev {
			snap.AnalysisRuns = append(snap.AnalysisRuns, run)
		}
	}
	for _, run := range hrs.Items {
		if run.Labels[rampv1.LabelRevision] == rev {
			snap.HookRuns = append(snap.HookRuns, run)
		}
	}
	var evs eventsv1.EventList
	sel := fields.SelectorFromSet(fields.Set{FieldRegardingKind: "Rollout", FieldRegardingName: ro.Name})
	if err := r.List(ctx, &evs, in, client.MatchingFieldsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	snap.Events = evs.Items
	SortEvents(snap.Events)
	return snap, nil
}

// IndexEvents registers the event fields Read selects on with a cache's
// indexer, so Read works on a cache-backed reader.
func IndexEvents(ctx context.Context, indexer client.FieldIndexer) error {
	for field, value := range map[string]func(*eventsv1.Event) string{
		FieldRegardingKind: func(ev *eventsv1.Event) string { return ev.Regarding.Kind },
		FieldRegardingName: func(ev *eventsv1.Event) string { return ev.Regarding.Name },
	} {
		err := indexer.IndexField(ctx, &eventsv1.Event{}, field, func(o client.Object) []string {
			return []string{value(o.(*eventsv1.Event))}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Revisions are the ReplicaSets, newest revision first.
func (s *Snapshot) Revisions() []appsv1.ReplicaSet {
	rss := slices.Clone(s.ReplicaSets)
	slices.SortFunc(rss, func(a, b appsv1.ReplicaSet) int { return RevisionNumber(&b) - RevisionNumber(&a) })
	return rss
}

// RevisionNumber is the Rollout revision a ReplicaSet was created as (1,
// 2, ...); 0 if unknown.
func RevisionNumber(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations[rampv1.AnnotationRevisionNumber])
	return n
}

// Images are a ReplicaSet's container images, comma-separated.
func Images(rs *appsv1.ReplicaSet) string {
	var images []string
	for _, c := range rs.Spec.Template.Spec.Containers {
		images = append(images, c.Image)
	}
	return strings.Join(images, ",")
}

// EventTime is when an event last happened.
func EventTime(ev *eventsv1.Event) time.Time {
	switch {
	case ev.Series != nil:
		return ev.Series.LastObservedTime.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	case !ev.DeprecatedLastTimestamp.IsZero():
		return ev.DeprecatedLastTimestamp.Time
	}
	return ev.CreationTimestamp.Time
}

// SortEvents orders events oldest first.
func SortEvents(evs []eventsv1.Event) {
	slices.SortStableFunc(evs, func(a, b eventsv1.Event) int { return EventTime(&a).Compare(EventTime(&b)) })
}

// Workload says how a Rollout runs its pods, for people: "" with its own
// template, else the Deployment it adopted or runs in place, or the
// StatefulSet it runs in place.
func Workload(ro *rampv1.Rollout) string {
	ref := ro.Spec.WorkloadRef
	if ref == nil {
		return ""
	}
	if !ro.Spec.InPlace() {
		return "Deployment " + ref.Name + ", adopted"
	}
	what, held := "Deployment "+ref.Name+", in place", " (paused by Ramp)"
	if ro.Spec.StatefulSet() {
		what, held = "StatefulSet "+ref.Name+", in place", " (partition held by Ramp)"
	}
	if w := ro.Status.Workload; w != nil && w.Paused {
		return what + held
	}
	return what
}
