package controller

import (
	"fmt"
	"strings"
	"unicode/utf8"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// news is what one pass has to tell of, as Events about the Rollout. It is
// recorded when the pass ends (see tell), for two reasons.
//
// A decision the pass recorded in the status (a canary started, a step
// done, a promotion, a rollback) is told only if that status was written.
// A pass that read the Rollout from a cache that had not yet seen the last
// pass's write takes that pass's decisions again; its write is refused
// (the optimistic lock, see patchStatus), and telling of them would report
// one step twice. The price: a controller killed between the status write
// and the Event loses the Event; status.stepHistory keeps the record.
//
// Events of one pass with the same reason become one Event: the
// events.k8s.io recorder folds Events of the same reason about the same
// version of an object into a series that keeps only the first note, so a
// pass that completes two steps, or scales two ReplicaSets, would
// otherwise tell of one.
type news struct {
	items []newsItem
}

type newsItem struct {
	typ, reason, action, note string
	decision                  bool
}

// done notes a write the pass made to another object (a ReplicaSet
// scaled, a route updated): it happened, whatever becomes of the status.
func (n *news) done(typ, reason, action, note string, args ...any) {
	n.items = append(n.items, newsItem{typ: typ, reason: reason, action: action, note: fmt.Sprintf(note, args...)})
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

// tell records the pass's news about ro: what it did, and what it decided
// if its status was written. Notes of one reason are joined in order.
func (r *Reconciler) tell(ro *rampv1.Rollout, n *news, written bool) {
	type key struct{ typ, reason, action string }
	var order []key
	notes := map[key][]string{}
	for _, it := range n.items {
		if it.decision && !written {
			continue
		}
		k := key{it.typ, it.reason, it.action}
		if _, ok := notes[k]; !ok {
			order = append(order, k)
		}
		notes[k] = append(notes[k], it.note)
	}
	for _, k := range order {
		r.event(ro, k.typ, k.reason, k.action, "%s", truncate(strings.Join(notes[k], "; "), maxNote))
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
