package rollout

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/scheme"
)

// news is what one pass has to tell of. It is recorded when the pass ends,
// as one Event about the Rollout (see tell).
//
// A decision the pass recorded in the status (a canary started, a step
// done, a promotion, a rollback) is told only if that status was written.
// A pass that read the Rollout from a cache that had not yet seen the last
// pass's write takes that pass's decisions again; its write is refused
// (the optimistic lock, see patchStatus), and telling of them would report
// one step twice. The price: a controller killed between the status write
// and the Event loses the Event; status.stepHistory keeps the record.
//
// One Event per pass, not one per write and decision: Events are API
// writes too, and were most of the controller's (four per Rollout per
// step, against five state writes). The Event carries every note, the
// reasons of all it tells and the objects written, with their
// resourceVersions, in annotations; its reason is that of what matters
// most (a warning, else a decision, else the first write).
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

// tell records the pass's news about ro as one Event: each write, and the
// decisions if its status was written, in the order they came.
func (r *Reconciler) tell(ro *rampv1.Rollout, n *news, written bool) {
	var told []newsItem
	for _, it := range n.items {
		if !it.decision || written {
			told = append(told, it)
		}
	}
	if len(told) == 0 {
		return
	}
	head := told[0]
	if i := slices.IndexFunc(told, func(it newsItem) bool { return it.typ == corev1.EventTypeWarning }); i >= 0 {
		head = told[i]
	} else if i := slices.IndexFunc(told, func(it newsItem) bool { return it.decision }); i >= 0 {
		head = told[i]
	}
	var notes, reasons, writes []string
	for _, it := range told {
		notes = append(notes, it.note)
		reasons = append(reasons, it.reason)
		if o, ok := it.related.(client.Object); ok {
			writes = append(writes, kindOf(o)+"/"+o.GetName()+"@"+o.GetResourceVersion())
		}
	}
	annotations := map[string]string{rampv1.AnnotationEventReasons: strings.Join(reasons, ",")}
	if len(writes) > 0 {
		annotations[rampv1.AnnotationEventWrites] = strings.Join(writes, ",")
	}
	// The first object written is the Event's related object: the
	// recorder folds Events of one reason about one Rollout version and
	// one related object into a series that keeps only the first note.
	var related runtime.Object
	for _, it := range told {
		if it.related != nil {
			related = it.related
			break
		}
	}
	r.event(ro, related, annotations, head.typ, head.reason, head.action, truncate(strings.Join(notes, "; "), maxNote))
}

// kinds knows the kinds of the typed objects a pass writes.
var kinds = scheme.New()

// kindOf names an object's kind: typed objects carry none in their
// TypeMeta, unstructured ones do.
func kindOf(o client.Object) string {
	gvk, err := apiutil.GVKForObject(o, kinds)
	if err != nil {
		return "Object"
	}
	return gvk.Kind
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
