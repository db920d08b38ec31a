// Package dashboard serves Ramp's web dashboard: the Rollouts of a cluster
// (or of one namespace), each one's steps, traffic, analyses, hooks and
// events, live, with buttons that send the same requests as the CLI.
//
// The server reads from an informer cache and pushes each page's view to
// the browser with server-sent events whenever a watch reports a change;
// writes go out with the caller's own rights.
package dashboard

import (
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/snapshot"
)

//go:embed assets
var assets embed.FS

// Options configure a Server.
type Options struct {
	// Namespace limits the dashboard to one namespace; empty: all.
	Namespace string
	// ReadOnly hides the buttons and refuses requests.
	ReadOnly bool
	// HostNames, when set, are the only host names the dashboard answers
	// to (see HostNames): a page of another site that resolves its own name
	// to 127.0.0.1 (DNS rebinding) must not read the cluster, or steer it,
	// through a dashboard on this machine or a port-forward to one.
	HostNames []string
	// Heartbeat is how often an idle stream sends a comment, so proxies
	// keep it open. Default 15s.
	Heartbeat time.Duration
	// Now is the clock of request tokens; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.Default()
	}
	return o.Log
}

// HostNames are the host names a dashboard answers to: this machine's
// loopback names (a browser on it, or through kubectl port-forward), the
// address it listens on unless that is every address, and extra (an
// ingress's name, say). "*" in extra answers to any name, for a proxy that
// checks the Host header itself.
func HostNames(address string, extra []string) []string {
	if slices.Contains(extra, "*") {
		return nil
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	if ip := net.ParseIP(address); ip == nil || !ip.IsUnspecified() {
		extra = append([]string{address}, extra...)
	}
	for _, n := range extra {
		n = strings.ToLower(n) // host names are case-insensitive
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// CheckHostNames refuses what cannot be the name in a Host header: a URL,
// a name with a port, an empty name.
func CheckHostNames(names []string) error {
	for _, n := range names {
		if n == "*" || net.ParseIP(n) != nil {
			continue
		}
		if n == "" || strings.ContainsAny(n, ":/ ") {
			return fmt.Errorf("%q is not a host name: give the name alone, without scheme or port (e.g. ramp.example.com)", n)
		}
	}
	return nil
}

// hostName is the name in a Host header, without port or brackets.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

// Server is the dashboard's HTTP handler.
type Server struct {
	reader client.Reader
	writer client.Client
	hub    *hub
	opts   Options
	mux    *http.ServeMux
}

// NewServer serves views read from reader (an informer cache in `ramp
// dashboard`) and sends requests with writer. Call Changed when an object
// in a namespace changes.
func NewServer(reader client.Reader, writer client.Client, opts Options) *Server {
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Log = opts.logger()
	s := &Server{reader: reader, writer: writer, hub: newHub(), opts: opts, mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	page := func(w http.ResponseWriter, r *http.Request) { http.ServeFileFS(w, r, static, "index.html") }
	s.mux.HandleFunc("GET /{$}", page)
	s.mux.HandleFunc("GET /rollouts/{namespace}/{name}", page)
	files := http.StripPrefix("/assets/", http.FileServerFS(static))
	s.mux.HandleFunc("GET /assets/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no listings
			return
		}
		files.ServeHTTP(w, r)
	})
	s.mux.HandleFunc("GET /api/rollouts", s.getList)
	s.mux.HandleFunc("GET /api/rollouts/{namespace}/{name}", s.getDetail)
	s.mux.HandleFunc("GET /api/stream", s.streamList)
	s.mux.HandleFunc("GET /api/stream/{namespace}/{name}", s.streamDetail)
	s.mux.HandleFunc("POST /api/rollouts/{namespace}/{name}/{request}", s.postRequest)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return s
}

// Changed tells the open pages of namespace to redraw.
func (s *Server) Changed(namespace string) { s.hub.notify(namespace) }

// ServeHTTP checks the Host header, sets the security headers and serves.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Probes (the kubelet's, by pod IP) need no name.
	if len(s.opts.HostNames) > 0 && !slices.Contains(s.opts.HostNames, strings.ToLower(hostName(r.Host))) && r.URL.Path != "/healthz" {
		http.Error(w, "unknown host "+r.Host+": the dashboard answers to "+strings.Join(s.opts.HostNames, ", ")+
			" (ramp dashboard --allowed-hosts adds names)", http.StatusMisdirectedRequest)
		return
	}
	h := w.Header()
	// Everything the pages load comes from here: no CDN, no inline script.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// list reads the list page's view.
func (s *Server) list(r *http.Request, namespace string) (*List, error) {
	var ros rampv1.RolloutList
	if err := s.reader.List(r.Context(), &ros, client.InNamespace(s.opts.Namespace)); err != nil {
		return nil, err
	}
	view := &List{Namespace: namespace, Rollouts: []Row{}, Namespaces: []string{}}
	for i := range ros.Items {
		ro := &ros.Items[i]
		if !slices.Contains(view.Namespaces, ro.Namespace) {
			view.Namespaces = append(view.Namespaces, ro.Namespace)
		}
		if namespace == "" || ro.Namespace == namespace {
			view.Rollouts = append(view.Rollouts, rowOf(ro))
		}
	}
	slices.Sort(view.Namespaces)
	slices.SortFunc(view.Rollouts, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return view, nil
}

// detail reads one Rollout's view.
func (s *Server) detail(r *http.Request) (*Detail, error) {
	key := client.ObjectKey{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	if err := s.inScope(key.Namespace); err != nil {
		return nil, err
	}
	snap, err := snapshot.Read(r.Context(), s.reader, key)
	if err != nil {
		return nil, err
	}
	d := detailOf(snap)
	d.ReadOnly = s.opts.ReadOnly
	return d, nil
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	view, err := s.list(r, r.URL.Query().Get("namespace"))
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, view)
}

func (s *Server) getDetail(w http.ResponseWriter, r *http.Request) {
	view, err := s.detail(r)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, view)
}

// reply writes v as JSON.
func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes err as {"error": ...} with its status: the API server's for
// its errors (404, 403, ...).
func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var status apierrors.APIStatus
	var outside outsideError
	var he httpError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.As(err, &outside):
		code = http.StatusForbidden
	case errors.As(err, &status) && status.Status().Code != 0:
		code = int(status.Status().Code)
	}
	reply(w, code, map[string]string{"error": err.Error()})
}

// httpError is an error with its HTTP status.
type httpError struct {
	code    int
	message string
}

func (e httpError) Error() string { return e.message }

// inScope refuses a namespace the dashboard does not watch.
func (s *Server) inScope(namespace string) error {
	if s.opts.Namespace != "" && namespace != s.opts.Namespace {
		return outsideError(s.opts.Namespace)
	}
	return nil
}

// outsideError: a page asked for a namespace the dashboard does not watch.
type outsideError string

func (e outsideError) Error() string {
	return "this dashboard shows namespace " + string(e) + " only (ramp dashboard -n " + string(e) + ")"
}

func init() {
	// Some systems map .js to text/plain; browsers refuse such scripts
	// under nosniff.
	_ = mime.AddExtensionType(".js", "text/javascript; charset=utf-8")
}
