package dataplane

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// mirror copies a share of a rule's requests to a backend; the copy's
// answer is dropped, as proxies do.
type mirror struct {
	backend backend
	percent float64
}

// gatewayMirror reads a rule's RequestMirror filter, if any: its
// backendRef and percent (or fraction; all requests without either).
func gatewayMirror(rule map[string]any) *mirror {
	filters, _, _ := unstructured.NestedSlice(rule, "filters")
	for _, f := range filters {
		fm := f.(map[string]any)
		if fm["type"] != "RequestMirror" {
			continue
		}
		name, _, _ := unstructured.NestedString(fm, "requestMirror", "backendRef", "name")
		m := &mirror{backend: backend{service: name}, percent: 100}
		if p, ok, _ := unstructured.NestedFieldNoCopy(fm, "requestMirror", "percent"); ok {
			m.percent = quantity(p)
		} else if num, ok, _ := unstructured.NestedFieldNoCopy(fm, "requestMirror", "fraction", "numerator"); ok {
			den := 100.0
			if d, ok, _ := unstructured.NestedFieldNoCopy(fm, "requestMirror", "fraction", "denominator"); ok {
				den = quantity(d)
			}
			m.percent = 100 * quantity(num) / den
		}
		return m
	}
	return nil
}

// istioMirror reads an HTTP route's mirror and mirrorPercentage, if any
// (all requests without a percentage, as Istio does).
func istioMirror(what string, route map[string]any, drs []unstructured.Unstructured) (*mirror, string) {
	dest, ok, _ := unstructured.NestedMap(route, "mirror")
	if !ok {
		return nil, ""
	}
	host, _, _ := unstructured.NestedString(dest, "host")
	m := &mirror{backend: backend{service: strings.Split(host, ".")[0]}, percent: 100}
	if name, _, _ := unstructured.NestedString(dest, "subset"); name != "" {
		subset, ok := subsetLabels(drs, host, name)
		if !ok {
			return nil, fmt.Sprintf("%s: no subset %s for host %s", what, name, host)
		}
		m.backend.subset = subset
	}
	if v, ok, _ := unstructured.NestedFieldNoCopy(route, "mirrorPercentage", "value"); ok {
		m.percent = quantity(v)
	}
	return m, ""
}

// shadow sends, for a share of the requests, a copy to the mirror's
// backend as this proxy knows it, and counts the version that answered.
func (p *proxy) shadow(m *mirror, path string) {
	if m == nil || rand.Float64()*100 >= m.percent {
		return
	}
	ep, ok := p.endpointOf(m.backend)
	if !ok {
		p.mesh.countMirrored("") // a copy to nowhere: dropped
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ep.addr+path, nil)
		resp, err := p.mesh.client.Do(req)
		if err != nil {
			p.mesh.countMirrored("")
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		p.mesh.countMirrored(strings.TrimSpace(string(body)))
	}()
}

func (m *Mesh) countMirrored(version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mirrored == nil {
		m.mirrored = map[string]int{}
	}
	m.mirrored[version]++
}

// Mirrored counts the copies of requests the proxies mirrored, by the
// version that answered them ("" for a copy that reached no pod).
func (m *Mesh) Mirrored() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.mirrored))
	for k, v := range m.mirrored {
		out[k] = v
	}
	return out
}
