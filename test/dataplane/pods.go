package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// Pod behaviour, from the env of its first container.
const (
	EnvVersion   = "VERSION"    // answered in the body
	EnvErrorRate = "ERROR_RATE" // share of requests answered 500, 0..1
	EnvLatencyMS = "LATENCY_MS" // added to every request
	// DefaultPort is used when the container declares none.
	DefaultPort = 8080
)

// HeaderInjected marks a failure a pod returned on purpose (its
// ERROR_RATE): a load tells those from the failures the platform caused.
const HeaderInjected = "X-Ramp-Injected-Fault"

// podServer is one pod's HTTP server.
type podServer struct {
	// key is namespace/name/uid: a StatefulSet's new pod has the name of
	// the one it replaces, which may still answer out its grace.
	key     string
	addr    string
	version string
	srv     *http.Server
	l       net.Listener
	// leaving is set once the pod is being deleted and the server only
	// waits out the grace period. Other planes read it (bound).
	leaving atomic.Bool
	active  atomic.Int32 // requests being answered
}

// busy reports whether the server is answering a request.
func (s *podServer) busy() bool { return s.active.Load() > 0 }

// Pods runs an HTTP server for every ready pod it is told about, and keeps
// a Prometheus file_sd targets file listing them (the servers run here,
// not where Kubernetes discovery would look for them).
type Pods struct {
	mu      sync.Mutex
	servers map[string]*podServer // by namespace/name
	// TargetsFile, if set, is rewritten with the pods' scrape targets.
	TargetsFile string
	// Grace is how long a pod's server goes on answering once its pod is
	// being deleted: an app with a preStop sleep. Zero is the worst case,
	// an app that stops the moment its pod is deleted.
	Grace time.Duration
}

// NewPods returns an empty set of pod servers.
func NewPods(targetsFile string, grace time.Duration) *Pods {
	return &Pods{servers: map[string]*podServer{}, TargetsFile: targetsFile, Grace: grace}
}

// Sync starts the server of a ready pod with an IP, and stops that of a
// pod that is no longer ready; a pod being deleted (or gone) stops after
// the grace period.
func (p *Pods) Sync(pod *corev1.Pod, deleted bool) error {
	key := podKey(pod)
	p.mu.Lock()
	defer p.mu.Unlock()
	existing := p.servers[key]
	switch {
	case deleted || pod.DeletionTimestamp != nil:
		if existing == nil || existing.leaving.Load() {
			return nil
		}
		if p.Grace > 0 {
			existing.leaving.Store(true)
			time.AfterFunc(p.Grace, func() { p.stop(existing) })
			return nil
		}
		return p.stopLocked(existing)
	case !ready(pod) || pod.Status.PodIP == "":
		if existing != nil {
			return p.stopLocked(existing)
		}
		return nil
	case existing != nil:
		return nil
	}
	addr := net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(podPort(pod)))
	var old *podServer
	if v, ok := bound.Load(addr); ok {
		if old = v.(*podServer); !old.leaving.Load() {
			// Another namespace's pod, whose plane has not seen it go.
			return fmt.Errorf("pod %s/%s: %s still serves pod %s: %w", pod.Namespace, pod.Name, addr, old.key, syscall.EADDRINUSE)
		}
	}
	s, err := startPodServer(pod, addr)
	if err != nil {
		return err
	}
	bound.Store(addr, s)
	p.servers[key] = s
	if old != nil {
		p.cutShort(old, pod)
	}
	return p.writeTargets()
}

func podKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name + "/" + string(pod.UID) }

func (p *Pods) stop(s *podServer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.stopLocked(s)
}

// stopLocked closes a server, unless a newer one took its place.
func (p *Pods) stopLocked(s *podServer) error {
	_ = s.srv.Close()
	bound.CompareAndDelete(s.addr, s)
	if p.servers[s.key] != s {
		return nil
	}
	delete(p.servers, s.key)
	return p.writeTargets()
}

// bound holds the servers of every data plane in this process, by
// address: kwok gives a deleted pod's IP to the next pod at once, which may
// be another test's, in another namespace, while the deleted pod still
// answers out its grace here.
var bound sync.Map // addr → *podServer

// cutShort ends the grace of a leaving server whose address a new pod was
// given, once the new pod's server listens beside it (SO_REUSEPORT): a real
// network would not give the address out so soon, and closing the old
// server first would leave a moment with nothing listening, refusing the
// proxies' connections. Its listener closes at once, so that no new
// connection is queued there, then its idle connections; in-flight
// requests finish (Shutdown). Another plane's server is left in that
// plane's map, which its own timer tidies (taking that lock here could
// deadlock with it).
func (p *Pods) cutShort(old *podServer, pod *corev1.Pod) {
	fmt.Printf("dataplane: pod %s got the address of leaving pod %s; its grace is cut short\n", pod.Name, old.key)
	_ = old.l.Close() // new connections go to the new server from here on
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = old.srv.Shutdown(ctx)
	}()
	if p.servers[old.key] == old {
		delete(p.servers, old.key)
	}
}

// writeTargets writes the file_sd targets, one per pod with its namespace
// and name as labels, replacing the file atomically. Callers hold p.mu.
func (p *Pods) writeTargets() error {
	if p.TargetsFile == "" {
		return nil
	}
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := []group{}
	for key, s := range p.servers {
		ns, name, _ := strings.Cut(key, "/")
		name = name[:strings.LastIndexByte(name, '/')]
		groups = append(groups, group{Targets: []string{s.addr}, Labels: map[string]string{"namespace": ns, "pod": name}})
	}
	data, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	tmp := p.TargetsFile + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p.TargetsFile)
}

// Close stops every server.
func (p *Pods) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, s := range p.servers {
		_ = s.srv.Close()
		bound.CompareAndDelete(s.addr, s)
		delete(p.servers, k)
	}
}

// Count returns the number of pods served.
func (p *Pods) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.servers)
}

func startPodServer(pod *corev1.Pod, addr string) (*podServer, error) {
	c := pod.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	errorRate, _ := strconv.ParseFloat(env[EnvErrorRate], 64)
	failures := &errorSpread{rate: errorRate}
	latencyMS, _ := strconv.Atoi(env[EnvLatencyMS])
	version := env[EnvVersion]
	if version == "" {
		version = c.Image
	}

	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "Requests served, by status code.",
	}, []string{"code"})
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Request latency.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	reg.MustRegister(requests, latency)

	ps := &podServer{key: podKey(pod), addr: addr, version: version}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ps.active.Add(1)
		defer ps.active.Add(-1)
		start := time.Now()
		if latencyMS > 0 {
			time.Sleep(time.Duration(latencyMS) * time.Millisecond) // the pod's configured slowness
		}
		code := http.StatusOK
		if failures.fail() {
			code = http.StatusInternalServerError
			w.Header().Set(HeaderInjected, "true")
		}
		w.Header().Set("X-Version", version)
		w.WriteHeader(code)
		fmt.Fprintln(w, version)
		requests.WithLabelValues(strconv.Itoa(code)).Inc()
		latency.Observe(time.Since(start).Seconds())
	})
	l, err := reusePort.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: listen on %s: %w", pod.Namespace, pod.Name, addr, err)
	}
	ps.srv, ps.l = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, l
	go func() {
		if err := ps.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			fmt.Printf("dataplane: pod server %s: %v\n", addr, err)
		}
	}()
	return ps, nil
}

// reusePort listens with SO_REUSEPORT, so that a new pod's server can bind
// the address of a leaving one before that one closes (cutShort).
var reusePort = net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) }); cerr != nil {
		return cerr
	}
	return err
}}

// ready reports whether a pod's Ready condition is true, whether or not it
// is being deleted.
func ready(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// errorSpread fails exactly its rate of the requests, evenly spread and
// starting with the first, so that even a handful of requests shows the
// rate: drawn at random, a bad version's first few dozen requests could
// all succeed and its first measurement pass by luck.
type errorSpread struct {
	mu   sync.Mutex
	rate float64
	owed float64 // failures due and not yet given
}

func (e *errorSpread) fail() bool {
	if e.rate <= 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.owed += e.rate
	if e.owed > 0 {
		e.owed--
		return true
	}
	return false
}
