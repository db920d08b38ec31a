// Package metricsapi is a small external metrics API server
// (external.metrics.k8s.io/v1beta1) for tests. It registers with the local
// cluster's aggregator as an APIService, so that the HorizontalPodAutoscaler
// controller of kube-controller-manager reads the values a test sets, as it
// would read a metrics adapter's. It listens on 127.0.0.1, behind an
// ExternalName Service named localhost.
package metricsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// Group and Version are the API it serves.
const (
	Group   = "external.metrics.k8s.io"
	Version = "v1beta1"
)

var apiServiceGVK = schema.GroupVersionKind{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"}

// Server serves external metrics, each a single value the test sets.
type Server struct {
	mu     sync.Mutex
	values map[string]float64
	reads  map[string]int
}

// Start serves the API from a Service in namespace ns and registers it;
// it returns once the aggregator reports the APIService available. One
// test at a time may hold it: an API version has one APIService.
func Start(t testing.TB, c client.Client, ns string) *Server {
	t.Helper()
	ctx := context.Background()
	s := &Server{values: map[string]float64{}, reads: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := int64(l.Addr().(*net.TCPAddr).Port)
	// An ExternalName Service: the aggregator calls its name on the
	// APIService's port, with no endpoints to look for (the endpoint
	// controllers are off here, and endpoints may not be loopback).
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "external-metrics", Namespace: ns},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Listener.Close()
	srv.Listener = l
	srv.StartTLS()
	t.Cleanup(srv.Close)

	api := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"group": Group, "version": Version, "insecureSkipTLSVerify": true,
		"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		"service": map[string]any{"namespace": ns, "name": svc.Name, "port": port},
	}}}
	api.SetGroupVersionKind(apiServiceGVK)
	api.SetName(Version + "." + Group)
	if err := c.Create(ctx, api); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), api) })
	clustertest.Eventually(t, time.Minute, "the APIService available", func(ctx context.Context) (bool, string) {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(apiServiceGVK)
		if err := c.Get(ctx, client.ObjectKeyFromObject(api), got); err != nil {
			return false, err.Error()
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, cond := range conds {
			m := cond.(map[string]any)
			if m["type"] == "Available" {
				return m["status"] == "True", fmt.Sprint(m["reason"], ": ", m["message"])
			}
		}
		return false, "no Available condition yet"
	})
	return s
}

// Set makes metric answer v from now on.
func (s *Server) Set(metric string, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[metric] = v
}

// Reads counts how often metric was asked for.
func (s *Server) Reads(metric string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[metric]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	prefix := "/apis/" + Group + "/" + Version
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == prefix:
		writeJSON(w, metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: Group + "/" + Version,
			APIResources: []metav1.APIResource{{Name: "*", Namespaced: true, Kind: "ExternalMetricValueList", Verbs: []string{"get"}}},
		})
	case strings.HasPrefix(path, prefix+"/namespaces/"):
		// .../namespaces/<ns>/<metric>
		parts := strings.Split(strings.TrimPrefix(path, prefix+"/namespaces/"), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		v, ok := s.values[parts[1]]
		s.reads[parts[1]]++
		s.mu.Unlock()
		items := []any{}
		if ok {
			items = append(items, map[string]any{
				"metricName": parts[1], "metricLabels": map[string]string{},
				"timestamp": time.Now().UTC().Format(time.RFC3339), "value": strconv.FormatInt(int64(v*1000), 10) + "m",
			})
		}
		writeJSON(w, map[string]any{"kind": "ExternalMetricValueList", "apiVersion": Group + "/" + Version,
			"metadata": map[string]any{}, "items": items})
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
