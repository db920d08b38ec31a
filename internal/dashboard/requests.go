package dashboard

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/request"
)

// postRequest sends a request (promote, abort, ...) for a Rollout, with
// the dashboard's rights (the user's kubeconfig, or its ServiceAccount).
//
// Only the dashboard's own pages may: the request must be JSON (another
// site's form cannot send that without a CORS preflight, which is never
// granted) and, when the browser says where it comes from, come from here.
func (s *Server) postRequest(w http.ResponseWriter, r *http.Request) {
	if s.opts.ReadOnly {
		fail(w, httpError{http.StatusForbidden, "the dashboard is read-only (ramp dashboard --read-only)"})
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		fail(w, httpError{http.StatusUnsupportedMediaType, "requests are sent as application/json"})
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
			fail(w, httpError{http.StatusForbidden, "request from another site (Origin " + origin + ") refused"})
			return
		}
	}
	req, err := request.Parse(r.PathValue("request"))
	if err != nil {
		fail(w, httpError{http.StatusNotFound, err.Error()})
		return
	}
	key := client.ObjectKey{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	if err := s.inScope(key.Namespace); err != nil {
		fail(w, err)
		return
	}
	token := strconv.FormatInt(s.opts.Now().UnixNano(), 10)
	if err := request.Send(r.Context(), s.writer, key, req, token); err != nil {
		s.opts.Log.Info("dashboard request failed", "rollout", key, "request", req, "error", err)
		fail(w, err)
		return
	}
	s.opts.Log.Info("dashboard request sent", "rollout", key, "request", req, "token", token)
	reply(w, http.StatusAccepted, map[string]string{"request": string(req), "token": token})
}
