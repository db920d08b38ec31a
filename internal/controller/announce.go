package controller

import (
	"fmt"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// An announcement is an event about a decision a pass recorded in the
// Rollout's status: a canary started, a step done, a promotion, a
// rollback.
//
// Announcements are recorded only once the pass's status is written. A
// pass that read the Rollout from a cache that had not yet seen the last
// pass's write takes again the decisions that pass took; its status write
// is refused (the optimistic lock, see patchStatus), and telling of them
// would report one step twice. Events about writes already made to other
// objects (a ReplicaSet scaled, a route updated) are recorded at once,
// with event.
type announcement struct {
	typ, reason, action, note string
}

// announcements are one pass's, in the order it took its decisions.
type announcements []announcement

func (a *announcements) add(typ, reason, action, note string, args ...any) {
	*a = append(*a, announcement{typ: typ, reason: reason, action: action, note: fmt.Sprintf(note, args...)})
}

func (a announcements) reasons() []string {
	reasons := make([]string, len(a))
	for i, an := range a {
		reasons[i] = an.reason
	}
	return reasons
}

// announce queues an event about a decision of this pass.
func (st *rolloutState) announce(typ, reason, action, note string, args ...any) {
	st.news.add(typ, reason, action, note, args...)
}

// announce records a pass's announcements, once its status is written.
func (r *Reconciler) announce(ro *rampv1.Rollout, news announcements) {
	for _, a := range news {
		r.event(ro, a.typ, a.reason, a.action, "%s", a.note)
	}
}
