package dashboard

import "sync"

// hub tells the open streams that something changed in a namespace. A
// stream that has not caught up yet is told once: its channel holds one
// notice, and it redraws from the cache, so bursts of changes (a step moves
// a ReplicaSet, a TrafficSplit, a status and two events) cost one redraw.
type hub struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	namespace string // empty: every namespace
	changed   chan struct{}
}

func newHub() *hub { return &hub{subs: map[*subscription]struct{}{}} }

func (h *hub) subscribe(namespace string) *subscription {
	s := &subscription{namespace: namespace, changed: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// notify tells the streams of namespace, and those of every namespace.
func (h *hub) notify(namespace string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.namespace == "" || s.namespace == namespace {
			select {
			case s.changed <- struct{}{}:
			default: // already told
			}
		}
	}
}

// count is the number of open streams.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
