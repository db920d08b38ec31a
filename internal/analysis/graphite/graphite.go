// Package graphite measures metrics with Graphite's render API: a target
// over the window of the metric's interval, as JSON.
package graphite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// Provider queries a Graphite render API.
type Provider struct {
	Secrets outbound.Secrets
	// Now is the end of the window (time.Now when nil).
	Now func() time.Time
}

var _ analysis.Provider = Provider{}

// series is one series of a render answer: [value or null, seconds] pairs.
type series struct {
	Target     string       `json:"target"`
	Datapoints [][]*float64 `json:"datapoints"`
}

// Measure renders the target and reads it over the interval that ends
// now: each series' last point with a value; one series is a scalar,
// several a vector.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	cfg := m.Provider.Graphite
	target, err := analysis.Render(m.Name, cfg.Target, vars, Escape)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	// The address is the operator's, often an argument: not escaped.
	address, err := analysis.Render(m.Name, cfg.Address, vars, func(s string) string { return s })
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	client, err := outbound.NewClient(ctx, p.Secrets, outbound.Settings{Headers: cfg.Headers, TLS: cfg.TLS})
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	interval := analysis.Interval(m)
	until := now()
	q := url.Values{}
	q.Set("target", target)
	q.Set("from", strconv.FormatInt(until.Add(-interval).Unix(), 10))
	q.Set("until", strconv.FormatInt(until.Unix(), 10))
	q.Set("format", "json")
	timeout := analysis.Timeout(cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	render := strings.TrimSuffix(address, "/") + "/render"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, render+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("graphite address %q: %w", address, err)
	}
	resp, body, err := client.Fetch(req, timeout)
	if err != nil {
		return nil, fmt.Errorf("graphite %s: %w (target: %s)", render, err, target)
	}
	if resp.StatusCode/100 != 2 {
		return nil, errors.New(client.Redact(fmt.Sprintf("graphite %s: %s: %s (target: %s)", render, resp.Status, outbound.Excerpt([]byte(client.Redact(string(body)))), target)))
	}
	var all []series
	if err := json.Unmarshal(body, &all); err != nil {
		// A server that fails while it answers may send {"error": ...}
		// with a 200.
		var failed struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &failed) == nil && failed.Error != "" {
			return nil, errors.New(client.Redact(fmt.Sprintf("graphite %s: %s (target: %s)", render, failed.Error, target)))
		}
		return nil, fmt.Errorf("graphite %s: the answer is not the render API's JSON: %w", render, err)
	}
	var got []float64
	for _, s := range all {
		for i := len(s.Datapoints) - 1; i >= 0; i-- {
			if p := s.Datapoints[i]; len(p) == 2 && p[0] != nil {
				got = append(got, *p[0])
				break
			}
		}
	}
	switch len(got) {
	case 0:
		return nil, fmt.Errorf("%w: no series has a point in the last %s (target: %s)", analysis.ErrEmpty, interval, target)
	case 1:
		return got[0], nil
	}
	return got, nil
}

// unsafe are the characters that are not a metric path's: a template value
// cannot close a function call, add an argument or a wildcard.
var unsafe = regexp.MustCompile(`[^A-Za-z0-9_\-.:]`)

// Escape makes a template value part of a metric path.
func Escape(s string) string { return unsafe.ReplaceAllString(s, "_") }
