package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// message is what a stream sends: the page's view, or why there is none,
// with the server's time so the page counts ages on the server's clock.
type message struct {
	ServerTime time.Time `json:"serverTime"`
	View       any       `json:"view,omitempty"`
	Error      string    `json:"error,omitempty"`
}

func (s *Server) streamList(w http.ResponseWriter, r *http.Request) {
	// Told of every namespace's changes, filtered or not: the filter's
	// list of namespaces follows them too.
	namespace := r.URL.Query().Get("namespace")
	s.stream(w, r, "", func() (any, error) { return s.list(r, namespace) })
}

func (s *Server) streamDetail(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, r.PathValue("namespace"), func() (any, error) { return s.detail(r) })
}

// stream sends the view as server-sent events: once, then each time a
// watch reports a change in namespace and the view differs from the last
// one sent. A view that cannot be read (the Rollout deleted) is sent as
// an error, and the stream goes on: the page shows it until the Rollout is
// back.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, namespace string, view func() (any, error)) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sub := s.hub.subscribe(namespace)
	defer s.hub.unsubscribe(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	heartbeat := time.NewTicker(s.opts.Heartbeat)
	defer heartbeat.Stop()
	var last []byte
	for {
		v, err := view()
		msg := message{View: v}
		if err != nil {
			msg = message{Error: err.Error()}
		}
		// Compare without the time, so a change elsewhere in the
		// namespace that leaves this view alone sends nothing.
		key, err := json.Marshal(msg)
		if err != nil {
			s.opts.Log.Error("dashboard view", "error", err)
			return
		}
		if !bytes.Equal(key, last) {
			last = key
			msg.ServerTime = s.opts.Now().UTC()
			data, _ := json.Marshal(msg)
			if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
				return
			}
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-sub.changed:
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}
