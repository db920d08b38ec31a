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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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

// podServer is one pod's HTTP server.
type podServer struct {
	key     string // namespace/name
	addr    string
	version string
	srv     *http.Server
}

// Pods runs an HTTP server for every ready pod it is told about, and keeps
// a Prometheus file_sd targets file listing them (the servers run here,
// not where Kubernetes discovery would look for them).
type Pods struct {
	mu      sync.Mutex
	servers map[string]*podServer // by namespace/name
	// TargetsFile, if set, is rewritten with the pods' scrape targets.
	TargetsFile string
}

// NewPods returns an empty set of pod servers.
func NewPods(targetsFile string) *Pods {
	return &Pods{servers: map[string]*podServer{}, TargetsFile: targetsFile}
}

// Sync starts the server of a ready pod with an IP, and stops that of a
// pod that is gone or no longer ready.
func (p *Pods) Sync(pod *corev1.Pod, deleted bool) error {
	key := pod.Namespace + "/" + pod.Name
	p.mu.Lock()
	defer p.mu.Unlock()
	existing := p.servers[key]
	if deleted || !ready(pod) || pod.Status.PodIP == "" {
		if existing != nil {
			delete(p.servers, key)
			_ = existing.srv.Close()
			return p.writeTargets()
		}
		return nil
	}
	if existing != nil {
		return nil
	}
	s, err := startPodServer(pod)
	if err != nil {
		return err
	}
	p.servers[key] = s
	return p.writeTargets()
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
		delete(p.servers, k)
	}
}

// Count returns the number of pods served.
func (p *Pods) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.servers)
}

func startPodServer(pod *corev1.Pod) (*podServer, error) {
	c := pod.Spec.Containers[0]
	port := DefaultPort
	if len(c.Ports) > 0 {
		port = int(c.Ports[0].ContainerPort)
	}
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

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if latencyMS > 0 {
			time.Sleep(time.Duration(latencyMS) * time.Millisecond) // the pod's configured slowness
		}
		code := http.StatusOK
		if failures.fail() {
			code = http.StatusInternalServerError
		}
		w.Header().Set("X-Version", version)
		w.WriteHeader(code)
		fmt.Fprintln(w, version)
		requests.WithLabelValues(strconv.Itoa(code)).Inc()
		latency.Observe(time.Since(start).Seconds())
	})
	addr := net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: listen on %s: %w", pod.Namespace, pod.Name, addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("dataplane: pod server %s: %v\n", addr, err)
		}
	}()
	return &podServer{key: pod.Namespace + "/" + pod.Name, addr: addr, version: version, srv: srv}, nil
}

func ready(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var _ = context.Background

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
