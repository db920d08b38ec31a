package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/internal/snapshot"
)

// The handlers over a fake client: routing, headers, refusals and the
// stream's redraw rule. test/e2e/dashboard_test.go and run_test.go check
// the same against the real API server.

func newTestServer(t *testing.T, opts Options, objs ...client.Object) (*Server, client.Client) {
	t.Helper()
	b := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...)
	for field, value := range map[string]func(*eventsv1.Event) string{
		snapshot.FieldRegardingKind: func(ev *eventsv1.Event) string { return ev.Regarding.Kind },
		snapshot.FieldRegardingName: func(ev *eventsv1.Event) string { return ev.Regarding.Name },
	} {
		b = b.WithIndex(&eventsv1.Event{}, field, func(o client.Object) []string { return []string{value(o.(*eventsv1.Event))} })
	}
	c := b.Build()
	opts.Now = func() time.Time { return t0 }
	return NewServer(c, c, opts), c
}

func named(ns, name string) *rampv1.Rollout {
	ro := rollout(rampv1.RolloutStatus{Phase: rampv1.PhaseHealthy})
	ro.Namespace, ro.Name = ns, name
	return ro
}

func do(s http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader("{}"))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestPages(t *testing.T) {
	s, _ := newTestServer(t, Options{HostNames: HostNames("127.0.0.1", nil)})
	for _, tc := range []struct {
		target, host string
		code         int
		contentType  string
		body         string
	}{
		{"/", "127.0.0.1:8089", 200, "text/html", `<script type="module" src="/assets/app.js">`},
		{"/rollouts/shop/web", "localhost:8089", 200, "text/html", `<main id="main"`},
		{"/assets/app.js", "127.0.0.1:8089", 200, "text/javascript", "EventSource"},
		{"/assets/style.css", "127.0.0.1:8089", 200, "text/css", "prefers-color-scheme"},
		{"/assets/nope.js", "127.0.0.1:8089", 404, "", ""},
		{"/api/rollouts", "[::1]:8089", 200, "application/json", `"rollouts":[]`},
		{"/api/rollouts", "LocalHost:8089", 200, "application/json", `"rollouts":[]`},
		{"/healthz", "127.0.0.1:8089", 200, "text/plain", "ok"},
		{"/healthz", "10.0.0.7:8080", 200, "text/plain", "ok"}, // the kubelet's probe
		{"/assets/", "127.0.0.1:8089", 404, "", ""},            // no listing
		// Another name that resolves to this machine (DNS rebinding).
		{"/api/rollouts", "evil.example:8089", 421, "", "unknown host evil.example:8089"},
		{"/", "evil.example", 421, "", "answers to localhost, 127.0.0.1, ::1"},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tc.code || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.contentType) || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("GET %s (Host %s): %d %s\n%.300s", tc.target, tc.host, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		if csp := w.Header().Get("Content-Security-Policy"); tc.code != 421 && !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.target, csp)
		}
	}
}

func TestAPI(t *testing.T) {
	s, _ := newTestServer(t, Options{}, named("shop", "web"), named("shop", "api"), named("pay", "web"))
	var list List
	w := do(s, "GET", "/api/rollouts?namespace=shop", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != 200 {
		t.Fatalf("list: %d %v %s", w.Code, err, w.Body)
	}
	var names []string
	for _, r := range list.Rollouts {
		names = append(names, r.Namespace+"/"+r.Name)
	}
	if strings.Join(names, " ") != "shop/api shop/web" || strings.Join(list.Namespaces, " ") != "pay shop" {
		t.Errorf("list: rollouts %v, namespaces %v", names, list.Namespaces)
	}

	var d Detail
	w = do(s, "GET", "/api/rollouts/pay/web", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || w.Code != 200 || d.Name != "web" || len(d.Steps) != 4 {
		t.Fatalf("detail: %d %v %s", w.Code, err, w.Body)
	}
	if !strings.Contains(w.Body.String(), `"revisions":[]`) || !strings.Contains(w.Body.String(), `"events":[]`) {
		t.Errorf("empty lists should be [], not null: %s", w.Body)
	}
	w = do(s, "GET", "/api/rollouts/pay/nope", nil)
	if w.Code != 404 || !strings.Contains(w.Body.String(), `"error":`) {
		t.Errorf("a missing Rollout: %d %s", w.Code, w.Body)
	}

	one, _ := newTestServer(t, Options{Namespace: "shop"}, named("shop", "web"), named("pay", "web"))
	w = do(one, "GET", "/api/rollouts/pay/web", nil)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "shows namespace shop only") {
		t.Errorf("outside the namespace: %d %s", w.Code, w.Body)
	}
}

func TestRequests(t *testing.T) {
	json := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct {
		name   string
		opts   Options
		target string
		header map[string]string
		code   int
		check  func(*rampv1.Rollout) bool
	}{
		{"promote", Options{}, "/api/rollouts/shop/web/promote", json, 202,
			func(ro *rampv1.Rollout) bool { return ro.Annotations[rampv1.AnnotationPromote] != "" }},
		{"promote in full", Options{}, "/api/rollouts/shop/web/promote-full", json, 202,
			func(ro *rampv1.Rollout) bool { return ro.Annotations[rampv1.AnnotationPromoteFull] != "" }},
		{"abort", Options{}, "/api/rollouts/shop/web/abort", json, 202,
			func(ro *rampv1.Rollout) bool { return ro.Annotations[rampv1.AnnotationAbort] != "" }},
		{"retry", Options{}, "/api/rollouts/shop/web/retry", json, 202,
			func(ro *rampv1.Rollout) bool { return ro.Annotations[rampv1.AnnotationRetry] != "" }},
		{"pause", Options{}, "/api/rollouts/shop/web/pause", json, 202, func(ro *rampv1.Rollout) bool { return ro.Spec.Paused }},
		// httptest's requests are for Host example.com.
		{"same origin", Options{}, "/api/rollouts/shop/web/pause", map[string]string{"Content-Type": "application/json", "Origin": "http://example.com"}, 202,
			func(ro *rampv1.Rollout) bool { return ro.Spec.Paused }},
		// Refused, and nothing written.
		{"read-only", Options{ReadOnly: true}, "/api/rollouts/shop/web/abort", json, 403, nil},
		{"a form post", Options{}, "/api/rollouts/shop/web/abort", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, nil},
		{"another site", Options{}, "/api/rollouts/shop/web/abort", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403, nil},
		{"unknown request", Options{}, "/api/rollouts/shop/web/explode", json, 404, nil},
		{"missing Rollout", Options{}, "/api/rollouts/shop/nope/abort", json, 404, nil},
		{"outside the namespace", Options{Namespace: "pay"}, "/api/rollouts/shop/web/abort", json, 403, nil},
		{"another port of this host", Options{}, "/api/rollouts/shop/web/abort", map[string]string{"Content-Type": "application/json", "Origin": "http://example.com:8080"}, 403, nil},
		{"a rebound name", Options{HostNames: HostNames("127.0.0.1", nil)}, "/api/rollouts/shop/web/abort", json, 421, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newTestServer(t, tc.opts, named("shop", "web"))
			w := do(s, "POST", tc.target, tc.header)
			if w.Code != tc.code {
				t.Fatalf("POST %s: %d %s, want %d", tc.target, w.Code, w.Body, tc.code)
			}
			ro := &rampv1.Rollout{}
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "web"}, ro); err != nil {
				t.Fatal(err)
			}
			changed := len(ro.Annotations) > 0 || ro.Spec.Paused
			if tc.check == nil && changed {
				t.Errorf("a refused request changed the Rollout: %v paused=%v", ro.Annotations, ro.Spec.Paused)
			}
			if tc.check != nil && !tc.check(ro) {
				t.Errorf("the request did not reach the Rollout: %v paused=%v", ro.Annotations, ro.Spec.Paused)
			}
		})
	}
}

// readEvent reads one server-sent event's data, skipping comments.
func readEvent(t *testing.T, r *bufio.Reader) message {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var msg message
			if err := json.Unmarshal([]byte(data), &msg); err != nil {
				t.Fatal(err)
			}
			return msg
		}
	}
}

// listCounter tells of every List, so a test knows the stream has read
// its view.
type listCounter struct {
	client.Reader
	lists chan struct{}
}

func (l *listCounter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := l.Reader.List(ctx, list, opts...)
	l.lists <- struct{}{}
	return err
}

func TestStream(t *testing.T) {
	_, c := newTestServer(t, Options{}, named("shop", "web"))
	reads := &listCounter{Reader: c, lists: make(chan struct{}, 10)}
	s := NewServer(reads, c, Options{Heartbeat: time.Hour, Now: func() time.Time { return t0 }})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/stream?namespace=shop", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	rows := func(msg message) int { return len(msg.View.(map[string]any)["rollouts"].([]any)) }
	if msg := readEvent(t, r); rows(msg) != 1 || !msg.ServerTime.Equal(t0) {
		t.Fatalf("first view: %+v", msg)
	}
	read := func() {
		select {
		case <-reads.lists:
		case <-ctx.Done():
			t.Fatal("the stream did not read its view")
		}
	}
	read()
	// A change that leaves the view as it was sends nothing (the stream
	// reads the view again, and finds it the same); the next event is the
	// next real change.
	s.Changed("pay")
	s.Changed("shop")
	read()
	if err := c.Create(ctx, named("shop", "api")); err != nil {
		t.Fatal(err)
	}
	s.Changed("shop")
	if msg := readEvent(t, r); rows(msg) != 2 {
		t.Fatalf("after a second Rollout: %+v", msg)
	}
	if n := s.hub.count(); n != 1 {
		t.Errorf("%d streams open", n)
	}
	cancel()
	_, _ = io.Copy(io.Discard, resp.Body)
	deadline := time.Now().Add(5 * time.Second)
	for s.hub.count() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the handler notices the closed request
	}
	if n := s.hub.count(); n != 0 {
		t.Errorf("%d streams still open after the page left", n)
	}
}

func TestStreamOfAMissingRollout(t *testing.T) {
	s, c := newTestServer(t, Options{Heartbeat: 20 * time.Millisecond})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/api/stream/shop/web")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if msg := readEvent(t, r); !strings.Contains(msg.Error, "not found") {
		t.Fatalf("a missing Rollout: %+v", msg)
	}
	// Heartbeats keep the stream open until the Rollout appears.
	if line, _ := r.ReadString('\n'); line != "\n" {
		t.Fatalf("want the end of the event, got %q", line)
	}
	if line, _ := r.ReadString('\n'); line != ": heartbeat\n" {
		t.Fatalf("want a heartbeat, got %q", line)
	}
	if err := c.Create(context.Background(), named("shop", "web")); err != nil {
		t.Fatal(err)
	}
	s.Changed("shop")
	if msg := readEvent(t, r); msg.Error != "" || msg.View.(map[string]any)["name"] != "web" {
		t.Fatalf("after it was created: %+v", msg)
	}
}

func TestHostNames(t *testing.T) {
	for _, tc := range []struct {
		address string
		extra   []string
		want    string
	}{
		{"127.0.0.1", nil, "localhost 127.0.0.1 ::1"},
		{"127.0.0.2", nil, "localhost 127.0.0.1 ::1 127.0.0.2"},
		{"0.0.0.0", nil, "localhost 127.0.0.1 ::1"}, // in a cluster: port-forward's names
		{"0.0.0.0", []string{"Ramp.Example.com", "localhost"}, "localhost 127.0.0.1 ::1 ramp.example.com"},
		{"10.0.0.5", nil, "localhost 127.0.0.1 ::1 10.0.0.5"},
		{"0.0.0.0", []string{"*"}, ""},
	} {
		if got := strings.Join(HostNames(tc.address, tc.extra), " "); got != tc.want {
			t.Errorf("HostNames(%s, %v) = %q, want %q", tc.address, tc.extra, got, tc.want)
		}
	}
}

func TestCheckHostNames(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string // in the error; "" for none
	}{
		{[]string{"ramp.example.com", "ramp", "fd00::5", "*"}, ""},
		{[]string{"ramp.example.com:8089"}, `"ramp.example.com:8089" is not a host name`},
		{[]string{"https://ramp.example.com"}, "without scheme or port"},
		{[]string{""}, `"" is not a host name`},
	} {
		err := CheckHostNames(tc.names)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckHostNames(%q) = %v, want %q", tc.names, err, tc.want)
		}
	}
}
