package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Routing kinds the mesh honours, each at the versions it tries in turn.
var (
	trafficSplitVersions = []string{"v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"}
	httpRouteGVK         = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	virtualServiceGVK    = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	destinationRuleGVK   = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
)

// Mesh is the stand-in for a service mesh's proxies in one namespace.
type Mesh struct {
	reader    client.Reader // a cache: routing objects, Services and Pods
	namespace string

	mu        sync.Mutex
	listeners map[string]*http.Server // by Service name
	urls      map[string]string

	client  *http.Client
	metrics *http.Server
	// MetricsAddr is where the mesh exports its request metrics.
	MetricsAddr string

	linkerdTotal   *prometheus.CounterVec
	linkerdLatency *prometheus.HistogramVec
	istioTotal     *prometheus.CounterVec
	istioLatency   *prometheus.HistogramVec
}

// NewMesh starts the mesh's metrics endpoint; Services are served on
// demand (URL).
func NewMesh(reader client.Reader, namespace string) (*Mesh, error) {
	m := &Mesh{
		reader: reader, namespace: namespace,
		listeners: map[string]*http.Server{}, urls: map[string]string{},
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.linkerdTotal, m.linkerdLatency, m.istioTotal, m.istioLatency)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.MetricsAddr = l.Addr().String()
	m.metrics = &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.metrics.Serve(l) }()
	return m, nil
}

// URL returns the loopback address at which the mesh serves a Service,
// starting to serve it on first use.
func (m *Mesh) URL(service string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.urls[service]; ok {
		return u, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: m.handler(service), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	m.listeners[service] = srv
	m.urls[service] = "http://" + l.Addr().String()
	return m.urls[service], nil
}

// Close stops every listener.
func (m *Mesh) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.listeners {
		_ = s.Close()
	}
	_ = m.metrics.Close()
}

// handler proxies a request for service to a pod chosen by the routing
// objects' weights.
func (m *Mesh) handler(service string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		pod, backend, err := m.pick(r.Context(), service)
		if err != nil {
			http.Error(w, "mesh: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		port := strconv.Itoa(podPort(pod))
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+net.JoinHostPort(pod.Status.PodIP, port)+r.URL.RequestURI(), nil)
		resp, err := m.client.Do(req)
		if err != nil {
			http.Error(w, "mesh: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		m.observe(pod, backend, resp.StatusCode, time.Since(start))
	}
}

// observe records a response as Linkerd's and Istio's proxies would.
func (m *Mesh) observe(pod *corev1.Pod, service string, code int, took time.Duration) {
	ms := float64(took.Microseconds()) / 1000
	class := "success"
	if code >= 500 {
		class = "failure"
	}
	m.linkerdTotal.WithLabelValues("inbound", pod.Namespace, pod.Name, class, strconv.Itoa(code)).Inc()
	m.linkerdLatency.WithLabelValues("inbound", pod.Namespace, pod.Name).Observe(ms)
	workload := pod.Name
	if owner := metav1.GetControllerOf(pod); owner != nil {
		workload = owner.Name // a ReplicaSet without a Deployment, as Istio names it
	}
	m.istioTotal.WithLabelValues("destination", pod.Namespace, workload, service, strconv.Itoa(code)).Inc()
	m.istioLatency.WithLabelValues("destination", pod.Namespace, workload, service).Observe(ms)
}

// pick chooses the pod that serves one request for service, and the
// backend Service it went through.
func (m *Mesh) pick(ctx context.Context, service string) (*corev1.Pod, string, error) {
	backend, subset, err := m.route(ctx, service)
	if err != nil {
		return nil, "", err
	}
	svc := &corev1.Service{}
	if err := m.reader.Get(ctx, client.ObjectKey{Namespace: m.namespace, Name: backend}, svc); err != nil {
		return nil, "", fmt.Errorf("backend Service %s: %w", backend, err)
	}
	sel := labels.Set{}
	for k, v := range svc.Spec.Selector {
		sel[k] = v
	}
	for k, v := range subset {
		sel[k] = v
	}
	var pods corev1.PodList
	if err := m.reader.List(ctx, &pods, client.InNamespace(m.namespace), client.MatchingLabels(sel)); err != nil {
		return nil, "", err
	}
	var candidates []*corev1.Pod
	for i := range pods.Items {
		if p := &pods.Items[i]; ready(p) && p.Status.PodIP != "" {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		return nil, "", fmt.Errorf("no ready pod behind Service %s %v", backend, subset)
	}
	return candidates[rand.IntN(len(candidates))], backend, nil
}

// route decides, by weight, which backend Service (and Istio subset
// labels) one request for service goes to: a TrafficSplit rooted at it, an
// HTTPRoute attached to it, a VirtualService for its host, or the Service
// itself.
func (m *Mesh) route(ctx context.Context, service string) (string, map[string]string, error) {
	if backend, ok, err := m.viaTrafficSplit(ctx, service); ok || err != nil {
		return backend, nil, err
	}
	if backend, ok, err := m.viaHTTPRoute(ctx, service); ok || err != nil {
		return backend, nil, err
	}
	if backend, subset, ok, err := m.viaVirtualService(ctx, service); ok || err != nil {
		return backend, subset, err
	}
	return service, nil, nil
}

func (m *Mesh) viaTrafficSplit(ctx context.Context, service string) (string, bool, error) {
	list, err := m.list(ctx, "split.smi-spec.io", "TrafficSplit", trafficSplitVersions...)
	if err != nil || list == nil {
		return "", false, err
	}
	for _, ts := range list.Items {
		if root, _, _ := unstructured.NestedString(ts.Object, "spec", "service"); root != service {
			continue
		}
		backends, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
		choice := weighted(backends, func(b map[string]any) float64 { return quantity(b["weight"]) })
		if choice == nil {
			return "", true, errors.New("TrafficSplit " + ts.GetName() + " sends nothing anywhere")
		}
		return fmt.Sprint(choice["service"]), true, nil
	}
	return "", false, nil
}

func (m *Mesh) viaHTTPRoute(ctx context.Context, service string) (string, bool, error) {
	list, err := m.list(ctx, httpRouteGVK.Group, httpRouteGVK.Kind, httpRouteGVK.Version)
	if err != nil || list == nil {
		return "", false, err
	}
	for _, route := range list.Items {
		parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
		attached := false
		for _, p := range parents {
			pm := p.(map[string]any)
			attached = attached || (pm["kind"] == "Service" && pm["name"] == service)
		}
		if !attached {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		if len(rules) == 0 {
			continue
		}
		refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
		choice := weighted(refs, func(b map[string]any) float64 {
			if w, ok := b["weight"]; ok {
				return quantity(w)
			}
			return 1
		})
		if choice == nil {
			return "", true, errors.New("HTTPRoute " + route.GetName() + " sends nothing anywhere")
		}
		return fmt.Sprint(choice["name"]), true, nil
	}
	return "", false, nil
}

func (m *Mesh) viaVirtualService(ctx context.Context, service string) (string, map[string]string, bool, error) {
	list, err := m.list(ctx, virtualServiceGVK.Group, virtualServiceGVK.Kind, virtualServiceGVK.Version)
	if err != nil || list == nil {
		return "", nil, false, err
	}
	for _, vs := range list.Items {
		hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
		if !contains(hosts, service) {
			continue
		}
		http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		var route map[string]any
		for _, r := range http { // the first route that matches every request
			rm := r.(map[string]any)
			if _, hasMatch := rm["match"]; !hasMatch {
				route = rm
				break
			}
		}
		if route == nil {
			continue
		}
		dests, _, _ := unstructured.NestedSlice(route, "route")
		choice := weighted(dests, func(d map[string]any) float64 {
			if w, ok := d["weight"]; ok {
				return quantity(w)
			}
			if len(dests) == 1 {
				return 100
			}
			return 0
		})
		if choice == nil {
			return "", nil, true, errors.New("VirtualService " + vs.GetName() + " sends nothing anywhere")
		}
		host, _, _ := unstructured.NestedString(choice, "destination", "host")
		subsetName, _, _ := unstructured.NestedString(choice, "destination", "subset")
		subset, err := m.subsetLabels(ctx, host, subsetName)
		return strings.Split(host, ".")[0], subset, true, err
	}
	return "", nil, false, nil
}

// subsetLabels reads a subset's labels from the DestinationRule for host.
func (m *Mesh) subsetLabels(ctx context.Context, host, subset string) (map[string]string, error) {
	if subset == "" {
		return nil, nil
	}
	list, err := m.list(ctx, destinationRuleGVK.Group, destinationRuleGVK.Kind, destinationRuleGVK.Version)
	if err != nil || list == nil {
		return nil, err
	}
	for _, dr := range list.Items {
		if h, _, _ := unstructured.NestedString(dr.Object, "spec", "host"); h != host {
			continue
		}
		subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
		for _, s := range subsets {
			sm := s.(map[string]any)
			if sm["name"] == subset {
				l, _, _ := unstructured.NestedStringMap(sm, "labels")
				return l, nil
			}
		}
	}
	return nil, fmt.Errorf("no subset %s for host %s", subset, host)
}

// list reads the objects of a kind at the first version the cluster
// serves; nil when it serves none.
func (m *Mesh) list(ctx context.Context, group, kind string, versions ...string) (*unstructured.UnstructuredList, error) {
	for _, v := range versions {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: v, Kind: kind + "List"})
		err := m.reader.List(ctx, list, client.InNamespace(m.namespace))
		if meta.IsNoMatchError(err) {
			continue
		}
		return list, err
	}
	return nil, nil
}

// weighted picks one entry at random in proportion to its weight.
func weighted(entries []any, weight func(map[string]any) float64) map[string]any {
	var total float64
	for _, e := range entries {
		total += max(weight(e.(map[string]any)), 0)
	}
	if total <= 0 {
		return nil
	}
	x := rand.Float64() * total
	for _, e := range entries {
		em := e.(map[string]any)
		if x -= max(weight(em), 0); x < 0 {
			return em
		}
	}
	return entries[len(entries)-1].(map[string]any)
}

// quantity reads a weight written as a number or a quantity string.
func quantity(v any) float64 {
	switch w := v.(type) {
	case int64:
		return float64(w)
	case float64:
		return w
	case string:
		var f float64
		switch {
		case strings.HasSuffix(w, "m"):
			f, _ = strconv.ParseFloat(strings.TrimSuffix(w, "m"), 64)
			return f / 1000
		default:
			f, _ = strconv.ParseFloat(w, 64)
			return f
		}
	}
	return 0
}

func podPort(pod *corev1.Pod) int {
	if c := pod.Spec.Containers[0]; len(c.Ports) > 0 {
		return int(c.Ports[0].ContainerPort)
	}
	return DefaultPort
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.Split(x, ".")[0] == s {
			return true
		}
	}
	return false
}
