package dataplane

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// Lag is how late a proxy applies a change: Base, plus up to Jitter drawn
// anew for each proxy and change, so that proxies disagree for a while.
type Lag struct {
	Base, Jitter time.Duration
}

func (l Lag) draw() time.Duration {
	if l.Jitter <= 0 {
		return l.Base
	}
	return l.Base + rand.N(l.Jitter)
}

// Max is the latest a change can arrive.
func (l Lag) Max() time.Duration { return l.Base + l.Jitter }

// lagged is one kind of configuration a proxy holds, applied after a lag
// and in the order it was sent, as an xDS stream delivers it: a change
// never overtakes one sent before it, whatever lags they drew.
type lagged[T any] struct {
	mu      sync.Mutex
	pending []change[T]
	running bool
	cur     atomic.Pointer[T]
}

type change[T any] struct {
	v    *T
	due  time.Time
	done func()
}

// send applies v after delay, but not before the changes sent earlier;
// then calls done.
func (l *lagged[T]) send(v *T, delay time.Duration, done func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	due := time.Now().Add(delay)
	if n := len(l.pending); n > 0 && due.Before(l.pending[n-1].due) {
		due = l.pending[n-1].due
	}
	l.pending = append(l.pending, change[T]{v, due, done})
	if !l.running {
		l.running = true
		go l.apply()
	}
}

// apply works through the pending changes in order, each at its time,
// and ends when none is left.
func (l *lagged[T]) apply() {
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		c := l.pending[0]
		l.mu.Unlock()
		time.Sleep(time.Until(c.due))
		l.cur.Store(c.v)
		l.mu.Lock()
		l.pending = l.pending[1:]
		l.mu.Unlock()
		if c.done != nil {
			c.done()
		}
	}
}

// proxy is one of the mesh's proxies: its own view of the routes and the
// endpoints, each applied after its own lag. It never retries: a request
// it sends to a pod that is gone fails.
type proxy struct {
	id        int
	mesh      *Mesh
	routes    lagged[routes]
	endpoints lagged[endpoints]
}

// serve proxies one request for service.
func (p *proxy) serve(service string, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ep, backend, reason := p.pick(service, r.URL.RequestURI(), r.Header)
	if reason != "" {
		http.Error(w, "mesh proxy "+strconv.Itoa(p.id)+": "+reason, http.StatusServiceUnavailable)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+ep.addr+r.URL.RequestURI(), nil)
	resp, err := p.mesh.client.Do(req)
	if err != nil {
		http.Error(w, "mesh proxy "+strconv.Itoa(p.id)+": "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	p.mesh.observe(ep, backend, resp.StatusCode, time.Since(start))
}

// pick chooses the backend of one request, by the first rule its headers
// match or else by weight, then one of that backend's endpoints, as this
// proxy knows them; or says why it cannot. The rule's mirror, if any,
// gets a copy.
func (p *proxy) pick(service, path string, header http.Header) (endpoint, string, string) {
	rt, eps := p.routes.cur.Load(), p.endpoints.cur.Load()
	if rt == nil || eps == nil {
		return endpoint{}, "", "no configuration yet"
	}
	if fault := rt.faults[service]; fault != "" {
		return endpoint{}, "", fault
	}
	b := backend{service: service, weight: 1}
	if rule, ok := pickRule(rt.rules[service], header); ok {
		b = weighted(rule.backends)
		p.shadow(rule.mirror, path)
	} else if backends := rt.table[service]; backends != nil {
		b = weighted(backends)
		p.shadow(rt.mirrors[service], path)
	}
	if b.missing != "" {
		return endpoint{}, "", b.missing
	}
	ep, ok := p.endpointOf(b)
	if !ok {
		return endpoint{}, "", "no endpoint for Service " + b.service + subsetText(b.subset)
	}
	return ep, b.service, ""
}

// endpointOf picks one of a backend's endpoints as this proxy knows them.
func (p *proxy) endpointOf(b backend) (endpoint, bool) {
	eps := p.endpoints.cur.Load()
	if eps == nil {
		return endpoint{}, false
	}
	var candidates []endpoint
	for _, ep := range (*eps)[b.service] {
		if labels.SelectorFromSet(b.subset).Matches(labels.Set(ep.labels)) {
			candidates = append(candidates, ep)
		}
	}
	if len(candidates) == 0 {
		return endpoint{}, false
	}
	return candidates[rand.IntN(len(candidates))], true
}

// weighted picks one backend at random in proportion to its weight.
func weighted(backends []backend) backend {
	var total float64
	for _, b := range backends {
		total += max(b.weight, 0)
	}
	x := rand.Float64() * total
	for _, b := range backends {
		if x -= max(b.weight, 0); x < 0 {
			return b
		}
	}
	return backends[len(backends)-1]
}

func subsetText(subset map[string]string) string {
	if len(subset) == 0 {
		return ""
	}
	return " subset " + labels.Set(subset).String()
}
