package dataplane

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Tally counts the responses of a load, by status code and by the version
// that answered.
type Tally struct {
	mu       sync.Mutex
	Total    int
	Codes    map[int]int
	Versions map[string]int
	Errors   int // requests that got no response
}

func (t *Tally) add(code int, version string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Total++
	if err != nil {
		t.Errors++
		return
	}
	t.Codes[code]++
	t.Versions[version]++
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

// Load sends GET requests to url at rate per second until ctx is done
// (or n requests when n > 0), with at most 32 in flight, and tallies the
// answers. It returns when all requests have ended.
func Load(ctx context.Context, url string, rate, n int) *Tally {
	t := &Tally{Codes: map[int]int{}, Versions: map[string]int{}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
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
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp, err := client.Get(url)
			if err != nil {
				t.add(0, "", err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.add(resp.StatusCode, strings.TrimSpace(string(body)), nil)
		}()
	}
	wg.Wait()
	return t
}
