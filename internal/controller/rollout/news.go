package rollout

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// news is what one pass has to tell of, as Events about the Rollout. It is
// recorded when the pass ends (see tell).
//
// A decision the pass recorded in the status (a canary started, a step
// done, a promotion, a rollback) is told only if that status was written.
// A pass that read the Rollout from a cache that had not yet seen the last
// pass's write takes that pass's decisions again; its write is refused
// (the optimistic lock, see patchStatus), and telling of them would report
// one step twice. The price: a controller killed between the status write
// and the Event loses the Event; status.stepHistory keeps the record.
//
// The events.k8s.io recorder folds Events of one reason about the same
// version of the Rollout and the same related object into a series that
// keeps only the first note. So each write names the object it wrote, as
// written, as the Event's related object, and the decisions of one reason
// in one pass are told as one Event (two steps completed at once).
type news struct {
	items []newsItem
}

type newsItem struct {
	related                   runtime.Object // what a write was made to
	typ, reason, action, note string
	decision                  bool
}

// done notes a write the pass made to obj (a ReplicaSet scaled, a route
// updated): it happened, whatever becomes of the status.
func (n *news) done(obj runtime.Object, typ, reason, action, note string, args ...any) {
	if obj != nil {
		obj = obj.DeepCopyObject() // as written now, not as later writes of the pass leave it
	}
	n.items = append(n.items, newsItem{related: obj, typ: typ, reason: reason, action: action, note: fmt.Sprintf(note, args...)})
}

// decided notes a decision the pass recorded in the status.
func (n *news) decided(typ, reason, action, note string, args ...any) {
	n.items = append(n.items, newsItem{typ: typ, reason: reason, action: action, note: fmt.Sprintf(note, args...), decision: true})
}

// untold lists the reasons of the decisions a pass whose status was not
// written leaves untold, for the log.
func (n *news) untold() []string {
	var reasons []string
	for _, it := range n.items {
		if it.decision {
			reasons = append(reasons, it.reason)
		}
	}
	return reasons
}

// maxNote is the longest note the API server takes (events.k8s.io/v1).
const maxNote = 1024

// tell records the pass's news about ro, in the order it came: each
// write, and the decisions if its status was written, those of one reason
// joined in one note where the first of them came.
func (r *Reconciler) tell(ro *rampv1.Rollout, n *news, written bool) {
	type key struct{ typ, reason, action string }
	decided := map[key][]string{}
	for _, it := range n.items {
		if it.decision {
			k := key{it.typ, it.reason, it.action}
			decided[k] = append(decided[k], it.note)
		}
	}
	for _, it := range n.items {
		if !it.decision {
			r.event(ro, it.related, it.typ, it.reason, it.action, truncate(it.note, maxNote))
			continue
		}
		k := key{it.typ, it.reason, it.action}
		if notes, ok := decided[k]; ok && written {
			r.event(ro, nil, it.typ, it.reason, it.action, truncate(strings.Join(notes, "; "), maxNote))
			delete(decided, k)
		}
	}
}

// truncate cuts s to at most max bytes, on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
