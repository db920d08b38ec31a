package dataplane

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MeshOptions shape the mesh stand-in. The zero value is one proxy that
// applies every change at once.
type MeshOptions struct {
	// Proxies is how many independent proxies serve each Service (at
	// least one); a load spreads its requests over all of them.
	Proxies int
	// RouteLag delays each proxy's view of the routing objects:
	// TrafficSplit weights, HTTPRoute rules and weights, VirtualService
	// routes and DestinationRule subsets.
	RouteLag Lag
	// EndpointLag delays each proxy's view of which pods a Service's
	// requests may reach.
	EndpointLag Lag
	// Report makes the mesh act as the implementation of the routing APIs:
	// once every proxy has applied a generation of an HTTPRoute, it writes
	// that generation into the route's status.parents conditions, as a
	// Gateway API implementation reports what it accepted; and into a
	// VirtualService's or DestinationRule's status, as Istio does with
	// its status reporting on.
	Report bool
}

// ControllerName is the controller the mesh reports as in HTTPRoute status.
const ControllerName = "ramp.dev/test-mesh"

// Mesh is the stand-in for a service mesh's proxies in one namespace. A
// control-plane loop rebuilds the routes and endpoints from the cluster
// whenever it is kicked, and sends each change to every proxy, which
// applies it after its own lag.
type Mesh struct {
	reader    client.Reader // a cache: routing objects, Services and Pods
	writer    client.Client // status reports
	namespace string
	opts      MeshOptions
	proxies   []*proxy

	mu       sync.Mutex
	urls     map[string][]string // by Service: one per proxy
	servers  []*http.Server
	mirrored map[string]int // copies of requests, by the version that answered

	kick          chan struct{}
	lastRoutes    *routes
	lastEndpoints endpoints
	reports       chan struct{}

	client *http.Client
	// MetricsAddr is where the mesh exports its request metrics.
	MetricsAddr string
	metrics     *http.Server

	linkerdTotal   *prometheus.CounterVec
	linkerdLatency *prometheus.HistogramVec
	istioTotal     *prometheus.CounterVec
	istioLatency   *prometheus.HistogramVec
}

// NewMesh starts the mesh's control-plane loop and its metrics endpoint,
// with every proxy holding the cluster's state as it is now. Services are
// served on demand (URLs). writer writes status reports when opts.Report.
func NewMesh(ctx context.Context, reader client.Reader, writer client.Client, namespace string, opts MeshOptions) (*Mesh, error) {
	m := &Mesh{
		reader: reader, writer: writer, namespace: namespace, opts: opts,
		urls: map[string][]string{}, kick: make(chan struct{}, 1), reports: make(chan struct{}, 1),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		linkerdTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "response_total", Help: "Linkerd-style: responses, by the receiving pod.",
		}, []string{"direction", "namespace", "pod", "classification", "status_code"}),
		linkerdLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "response_latency_ms", Help: "Linkerd-style: response latency in milliseconds.",
			Buckets: []float64{1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000},
		}, []string{"direction", "namespace", "pod"}),
		istioTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "istio_requests_total", Help: "Istio-style: requests, by the destination workload.",
		}, []string{"reporter", "destination_workload_namespace", "destination_workload", "destination_service_name", "response_code"}),
		istioLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "istio_request_duration_milliseconds", Help: "Istio-style: request duration in milliseconds.",
			Buckets: []float64{1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000},
		}, []string{"reporter", "destination_workload_namespace", "destination_workload", "destination_service_name"}),
	}
	for i := range max(opts.Proxies, 1) {
		m.proxies = append(m.proxies, &proxy{id: i, mesh: m})
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.linkerdTotal, m.linkerdLatency, m.istioTotal, m.istioLatency)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.MetricsAddr = l.Addr().String()
	m.metrics = &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.metrics.Serve(l) }()

	if err := m.rebuild(ctx, true); err != nil {
		return nil, err
	}
	go m.loop(ctx)
	if opts.Report && writer != nil {
		go m.reporter(ctx)
	}
	return m, nil
}

// Kick tells the control plane that something it watches changed.
func (m *Mesh) Kick() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Mesh) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		}
		if err := m.rebuild(ctx, false); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "dataplane: mesh:", err)
			time.AfterFunc(100*time.Millisecond, m.Kick)
		}
	}
}

// rebuild reads the routes and endpoints from the cluster and sends each
// that changed to every proxy, after each proxy's lag (at once when first).
func (m *Mesh) rebuild(ctx context.Context, first bool) error {
	eps, services, err := buildEndpoints(ctx, m.reader, m.namespace)
	if err != nil {
		return err
	}
	rt, err := buildRoutes(ctx, m.reader, m.namespace, services)
	if err != nil {
		return err
	}
	routeLag, endpointLag := m.opts.RouteLag, m.opts.EndpointLag
	if first {
		routeLag, endpointLag = Lag{}, Lag{}
	}
	var wg sync.WaitGroup
	if !reflect.DeepEqual(rt, m.lastRoutes) {
		m.lastRoutes = rt
		for _, p := range m.proxies {
			wg.Add(1)
			p.routes.send(rt, routeLag.draw(), func() { m.routesApplied(); wg.Done() })
		}
	}
	if !reflect.DeepEqual(eps, m.lastEndpoints) {
		m.lastEndpoints = eps
		for _, p := range m.proxies {
			wg.Add(1)
			p.endpoints.send(&eps, endpointLag.draw(), wg.Done)
		}
	}
	if first {
		wg.Wait() // the proxies start with the cluster as it is
	}
	return nil
}

// URLs returns the loopback address of each proxy for a Service, starting
// to serve it on first use.
func (m *Mesh) URLs(service string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.urls[service]; ok {
		return u, nil
	}
	var urls []string
	for _, p := range m.proxies {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(service, w, r) }),
			ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		m.servers = append(m.servers, srv)
		urls = append(urls, "http://"+l.Addr().String())
	}
	m.urls[service] = urls
	return urls, nil
}

// Proxies is the number of proxies.
func (m *Mesh) Proxies() int { return len(m.proxies) }

// Close stops every listener.
func (m *Mesh) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.servers {
		_ = s.Close()
	}
	_ = m.metrics.Close()
}

// observe records a response as Linkerd's and Istio's proxies would.
func (m *Mesh) observe(ep endpoint, service string, code int, took time.Duration) {
	ms := float64(took.Microseconds()) / 1000
	class := "success"
	if code >= 500 {
		class = "failure"
	}
	m.linkerdTotal.WithLabelValues("inbound", ep.namespace, ep.pod, class, strconv.Itoa(code)).Inc()
	m.linkerdLatency.WithLabelValues("inbound", ep.namespace, ep.pod).Observe(ms)
	m.istioTotal.WithLabelValues("destination", ep.namespace, ep.workload, service, strconv.Itoa(code)).Inc()
	m.istioLatency.WithLabelValues("destination", ep.namespace, ep.workload, service).Observe(ms)
}

// appliedGeneration is the generation of a routing object that every
// proxy has applied; 0 when some proxy has not seen it.
func (m *Mesh) appliedGeneration(ref objectRef) int64 {
	gens := make([]int64, 0, len(m.proxies))
	for _, p := range m.proxies {
		rt := p.routes.cur.Load()
		if rt == nil {
			return 0
		}
		gens = append(gens, rt.generations[ref])
	}
	return slices.Min(gens)
}
