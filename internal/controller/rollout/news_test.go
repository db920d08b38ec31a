package rollout

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// notesRecorder keeps "type reason (related object) [reasons] [written]:
// note" of each Event.
type notesRecorder struct {
	recorder.EventRecorder
	got []string
}

func (r *notesRecorder) AnnotatedEventf(_, related runtime.Object, annotations map[string]string, typ, reason, _, note string, args ...any) {
	about := ""
	if o, ok := related.(metav1.Object); ok {
		about = " (" + o.GetName() + " at " + o.GetResourceVersion() + ")"
	}
	r.got = append(r.got, fmt.Sprintf("%s %s%s [%s] [%s]: %s", typ, reason, about,
		annotations[rampv1.AnnotationEventReasons], annotations[rampv1.AnnotationEventWrites], fmt.Sprintf(note, args...)))
}

func TestTell(t *testing.T) {
	const normal = corev1.EventTypeNormal
	pass := func() *news {
		n := &news{}
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-b", ResourceVersion: "7"}}
		n.done(rs, normal, "ScalingReplicaSet", "Scale", "Scaled %s from %d to %d", "web-b", 1, 2)
		rs.ResourceVersion = "9" // written again later in the pass
		n.decided(normal, "StepCompleted", "Step", "Step %d/4 done", 2)
		n.done(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-a", ResourceVersion: "8"}},
			normal, "ScalingReplicaSet", "Scale", "Scaled %s from %d to %d", "web-a", 3, 2)
		n.decided(normal, "StepCompleted", "Step", "Step %d/4 done", 3)
		return n
	}
	for _, tc := range []struct {
		name    string
		n       *news
		written bool
		want    []string
	}{
		{"written: one Event, under the first decision, about the first write as written", pass(), true, []string{
			"Normal StepCompleted (web-b at 7) [ScalingReplicaSet,StepCompleted,ScalingReplicaSet,StepCompleted] [ReplicaSet/web-b@7,ReplicaSet/web-a@8]: " +
				"Scaled web-b from 1 to 2; Step 2/4 done; Scaled web-a from 3 to 2; Step 3/4 done"}},
		{"not written: what was done, not what was decided", pass(), false, []string{
			"Normal ScalingReplicaSet (web-b at 7) [ScalingReplicaSet,ScalingReplicaSet] [ReplicaSet/web-b@7,ReplicaSet/web-a@8]: " +
				"Scaled web-b from 1 to 2; Scaled web-a from 3 to 2"}},
		{"a warning heads the Event", func() *news {
			n := pass()
			n.decided(corev1.EventTypeWarning, "Aborted", "Abort", "Aborted: %s", "analysis failed")
			return n
		}(), true, []string{
			"Warning Aborted (web-b at 7) [ScalingReplicaSet,StepCompleted,ScalingReplicaSet,StepCompleted,Aborted] [ReplicaSet/web-b@7,ReplicaSet/web-a@8]: " +
				"Scaled web-b from 1 to 2; Step 2/4 done; Scaled web-a from 3 to 2; Step 3/4 done; Aborted: analysis failed"}},
		{"decisions alone, about no object", func() *news {
			n := &news{}
			n.decided(normal, "CanaryStarted", "Start", "Canary %s started", "web-b")
			return n
		}(), true, []string{"Normal CanaryStarted [CanaryStarted] []: Canary web-b started"}},
		{"nothing", &news{}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &notesRecorder{}
			(&Reconciler{Recorder: rec}).tell(&rampv1.Rollout{}, tc.n, tc.written)
			if strings.Join(rec.got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("told\n%s\nwant\n%s", strings.Join(rec.got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer note", 10, "a longe…"}, // 7 bytes and the 3 of …
		{"ééééé", 6, "é…"},                // never half a rune: é is 2 bytes, … 3
	} {
		if got := truncate(tc.s, tc.max); got != tc.want || len(got) > tc.max {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}

// A pass that completes many steps still makes a note the API server takes.
func TestTellKeepsNotesWithinTheLimit(t *testing.T) {
	n := &news{}
	for i := range 200 {
		n.decided(corev1.EventTypeNormal, "StepCompleted", "Step", "Step %d/200 (setWeight 0.5%%) done", i+1)
	}
	rec := &notesRecorder{}
	(&Reconciler{Recorder: rec}).tell(&rampv1.Rollout{}, n, true)
	if len(rec.got) != 1 || len(rec.got[0][strings.Index(rec.got[0], "]: ")+3:]) > maxNote {
		t.Errorf("told %d Events, the first %d bytes long", len(rec.got), len(rec.got[0]))
	}
}
