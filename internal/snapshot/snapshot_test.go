package snapshot

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestRevisions(t *testing.T) {
	rs := func(n string, images ...string) appsv1.ReplicaSet {
		r := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs" + n, Annotations: map[string]string{rampv1.AnnotationRevisionNumber: n}}}
		for _, img := range images {
			r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, corev1.Container{Image: img})
		}
		return r
	}
	snap := &Snapshot{ReplicaSets: []appsv1.ReplicaSet{rs("2", "web:v2"), rs("10", "web:v10", "proxy:1"), rs("x"), rs("3")}}
	var got []string
	for _, r := range snap.Revisions() {
		got = append(got, r.Name)
	}
	if want := "rs10 rs3 rs2 rsx"; strings.Join(got, " ") != want {
		t.Errorf("Revisions: %s, want %s (newest first, numbers compared as numbers)", strings.Join(got, " "), want)
	}
	if got := Images(&snap.ReplicaSets[1]); got != "web:v10,proxy:1" {
		t.Errorf("Images: %q", got)
	}
}

func TestSortEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ev := func(name string, created, eventTime, series time.Duration) eventsv1.Event {
		e := eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(created))}}
		if eventTime != 0 {
			e.EventTime = metav1.NewMicroTime(t0.Add(eventTime))
		}
		if series != 0 {
			e.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t0.Add(series))}
		}
		return e
	}
	evs := []eventsv1.Event{
		ev("repeated-late", 0, time.Second, 9*time.Second), // a series counts from its last time
		ev("old-style", 5*time.Second, 0, 0),               // no eventTime: its creation
		ev("first", 0, 2*time.Second, 0),
	}
	SortEvents(evs)
	var got []string
	for _, e := range evs {
		got = append(got, e.Name)
	}
	if want := "first old-style repeated-late"; strings.Join(got, " ") != want {
		t.Errorf("SortEvents: %s, want %s", strings.Join(got, " "), want)
	}
}

func TestWorkload(t *testing.T) {
	for _, tc := range []struct {
		name string
		ref  *rampv1.WorkloadRef
		held bool
		want string
	}{
		{"own template", nil, false, ""},
		{"adopted", &rampv1.WorkloadRef{Name: "web", Mode: rampv1.WorkloadAdopt}, false, "Deployment web, adopted"},
		{"in place", &rampv1.WorkloadRef{Name: "web", Mode: rampv1.WorkloadInPlace}, false, "Deployment web, in place"},
		{"in place, held", &rampv1.WorkloadRef{Name: "web", Mode: rampv1.WorkloadInPlace}, true, "Deployment web, in place (paused by Ramp)"},
		{"a StatefulSet", &rampv1.WorkloadRef{Kind: rampv1.KindStatefulSet, Name: "db", Mode: rampv1.WorkloadInPlace}, false, "StatefulSet db, in place"},
		{"a StatefulSet, held", &rampv1.WorkloadRef{Kind: rampv1.KindStatefulSet, Name: "db", Mode: rampv1.WorkloadInPlace}, true, "StatefulSet db, in place (partition held by Ramp)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &rampv1.Rollout{Spec: rampv1.RolloutSpec{WorkloadRef: tc.ref}}
			if tc.held {
				ro.Status.Workload = &rampv1.WorkloadStatus{Paused: true}
			}
			if got := Workload(ro); got != tc.want {
				t.Errorf("Workload = %q, want %q", got, tc.want)
			}
		})
	}
}
