package dataplane

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one request of a load and how it ended.
type Request struct {
	// At is when it was sent, from the start of the load.
	At time.Duration
	// Proxy is the index of the proxy it went through.
	Proxy int
	// Code is the status answered; 0 when no answer came.
	Code int
	// Err says why no answer came, or what the proxy answered instead of
	// a pod.
	Err string
	// Version is the version of the pod that answered.
	Version string
	// Injected marks a failure the pod returned on purpose
	// (HeaderInjected): a bad version's, not the platform's.
	Injected bool
}

// Failed reports whether the request failed other than on purpose: no
// answer, or an answer that is not a success and was not injected.
func (r Request) Failed() bool {
	return r.Code == 0 || (r.Code >= 300 && !r.Injected)
}

// Tally counts the responses of a load, by status code and by the version
// that answered, and keeps every request.
type Tally struct {
	start    time.Time
	mu       sync.Mutex
	Total    int
	Codes    map[int]int
	Versions map[string]int
	Errors   int // requests that got no response
	requests []Request
}

func (t *Tally) add(r Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Total++
	t.requests = append(t.requests, r)
	if r.Code == 0 {
		t.Errors++
		return
	}
	t.Codes[r.Code]++
	if r.Version != "" {
		t.Versions[r.Version]++
	}
}

// Snapshot copies the counts.
func (t *Tally) Snapshot() (total int, codes map[int]int, versions map[string]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	codes, versions = map[int]int{}, map[string]int{}
	for k, v := range t.Codes {
		codes[k] = v
	}
	for k, v := range t.Versions {
		versions[k] = v
	}
	return t.Total, codes, versions
}

// Requests copies the requests, in the order they ended.
func (t *Tally) Requests() []Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Request(nil), t.requests...)
}

// Failures returns the requests that failed other than on purpose, and
// counts those that failed on purpose.
func (t *Tally) Failures() (failed []Request, injected int) {
	for _, r := range t.Requests() {
		switch {
		case r.Failed():
			failed = append(failed, r)
		case r.Injected:
			injected++
		}
	}
	return failed, injected
}

// NewTally returns an empty tally, for LoadInto.
func NewTally() *Tally {
	return &Tally{Codes: map[int]int{}, Versions: map[string]int{}, start: time.Now()}
}

// Elapsed is the time since the load began, on the scale of Request.At.
func (t *Tally) Elapsed() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Since(t.start)
}

// Load sends GET requests at rate per second, spread in turn over urls
// (one per proxy), until ctx is done (or n requests when n > 0), with at
// most 64 in flight, and tallies every answer. It returns when all
// requests have ended.
func Load(ctx context.Context, urls []string, rate, n int) *Tally {
	return LoadInto(ctx, NewTally(), urls, rate, n)
}

// LoadInto is Load into a tally the caller can read while the load runs.
func LoadInto(ctx context.Context, t *Tally, urls []string, rate, n int) *Tally {
	return LoadWith(ctx, t, urls, rate, n, nil)
}

// LoadWith is LoadInto with header on every request: a tester's, say.
func LoadWith(ctx context.Context, t *Tally, urls []string, rate, n int, header http.Header) *Tally {
	t.mu.Lock()
	t.start = time.Now()
	t.mu.Unlock()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	start := t.start
	tick := time.NewTicker(time.Second / time.Duration(max(rate, 1)))
	defer tick.Stop()
	for sent := 0; n <= 0 || sent < n; sent++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return t
		case <-tick.C:
		}
		sem <- struct{}{}
		wg.Add(1)
		proxy := sent % len(urls)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := Request{At: time.Since(start), Proxy: proxy}
			req, _ := http.NewRequest(http.MethodGet, urls[proxy], nil) // not ctx: a request sent ends
			for k, v := range header {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				r.Err = err.Error()
				t.add(r)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.Code, r.Injected = resp.StatusCode, resp.Header.Get(HeaderInjected) != ""
			if resp.StatusCode < 300 || r.Injected {
				r.Version = strings.TrimSpace(string(body))
			} else {
				r.Err = strings.TrimSpace(string(body))
			}
			t.add(r)
		}()
	}
	wg.Wait()
	return t
}

// WaitServing sends a few requests through every proxy until all of them
// are answered by a pod, or ctx ends: the proxies know the Service's pods.
func WaitServing(ctx context.Context, urls []string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		failed, _ := Load(ctx, urls, 1000, 5*len(urls)).Failures()
		if len(failed) == 0 && ctx.Err() == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			last := "no request sent"
			if len(failed) > 0 {
				last = failed[0].Err
			}
			return fmt.Errorf("dataplane: the proxies do not serve yet (%s): %w", last, ctx.Err())
		case <-tick.C:
		}
	}
}

// StartLoad waits (up to wait) until every proxy serves service, then
// sends it rate requests/s, with header, into t until ctx ends; done
// closes once the load has ended. It is how a test loads a mesh at rest.
func (p *Plane) StartLoad(ctx context.Context, wait time.Duration, t *Tally, service string, rate int, header http.Header) (done <-chan struct{}, err error) {
	urls, err := p.Mesh.URLs(service)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := WaitServing(waitCtx, urls); err != nil {
		return nil, err
	}
	ended := make(chan struct{})
	go func() { LoadWith(ctx, t, urls, rate, 0, header); close(ended) }()
	return ended, nil
}
