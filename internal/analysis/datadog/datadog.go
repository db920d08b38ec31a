// Package datadog measures metrics with Datadog's metric query APIs: the
// scalar query API (v2), which reduces each series over the window to one
// value, and the older timeseries query (v1), whose last point Ramp takes.
package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// DefaultSite is the site of an account that names none (US1).
const DefaultSite = "datadoghq.com"

// Provider queries Datadog.
type Provider struct {
	Secrets outbound.Secrets
	// Now is the end of the query's window (time.Now when nil).
	Now func() time.Time
}

var _ analysis.Provider = Provider{}

// call is one measurement in progress: the client that carries the keys,
// and what the request needs.
type call struct {
	client   *outbound.Client
	address  string
	cfg      *rampv1.DatadogMetric
	queries  []rampv1.DatadogQuery
	from, to time.Time
	// deadline is when a rate-limited query may no longer be retried:
	// the next measurement is due then.
	deadline time.Time
}

// Measure renders the metric's queries and runs them over the window of
// the metric's interval that ends now.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	cfg := m.Provider.Datadog
	c := &call{cfg: cfg}
	queries := cfg.Queries
	if cfg.Query != "" {
		queries = []rampv1.DatadogQuery{{Name: "a", Query: cfg.Query}}
	}
	if len(queries) == 0 {
		return nil, errors.New("datadog: no query: set query, or queries with a formula")
	}
	for _, q := range queries {
		text, err := analysis.Render(m.Name, q.Query, vars, Escape)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q.Name, err)
		}
		c.queries = append(c.queries, rampv1.DatadogQuery{Name: q.Name, Query: text})
	}
	var err error
	if c.address, err = address(m, cfg, vars); err != nil {
		return nil, err
	}
	c.client, err = outbound.NewClient(ctx, p.Secrets, outbound.Settings{Headers: []rampv1.Header{
		{Name: "DD-API-KEY", ValueFrom: &cfg.APIKey},
		{Name: "DD-APPLICATION-KEY", ValueFrom: &cfg.ApplicationKey},
	}})
	if err != nil {
		return nil, err
	}
	defer c.client.CloseIdleConnections()
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	interval := analysis.Interval(m)
	c.to = now()
	c.from, c.deadline = c.to.Add(-interval), c.to.Add(interval)
	timeout := analysis.Timeout(cfg.Timeout)
	switch {
	case cfg.APIVersion == "v1":
		return c.v1(ctx, timeout)
	case cfg.APIVersion == "v2" || len(c.queries) > 1:
		return c.v2(ctx, timeout)
	}
	result, err := c.v2(ctx, timeout)
	if errors.Is(err, errNotFound) {
		// An account (or a proxy) without the scalar query API.
		return c.v1(ctx, timeout)
	}
	return result, err
}

// address is the API's: https://api.<site>, or the one configured.
func address(m *rampv1.Metric, cfg *rampv1.DatadogMetric, vars analysis.Vars) (string, error) {
	if cfg.Address != "" {
		// The address is the operator's, often an argument: not escaped.
		a, err := analysis.Render(m.Name, cfg.Address, vars, func(s string) string { return s })
		if err != nil {
			return "", fmt.Errorf("address: %w", err)
		}
		return strings.TrimSuffix(a, "/"), nil
	}
	site := cfg.Site
	if site == "" {
		site = DefaultSite
	}
	return "https://api." + site, nil
}

// errNotFound is a 404: the API is not there.
var errNotFound = errors.New("this site or proxy does not serve the API; apiVersion v1 takes the older query API")

// do sends a request and decodes a 2xx answer into out. A 429 is waited
// out and sent once more when Datadog's reset comes before the next
// measurement is due; otherwise it is inconclusive. Other answers are
// errors quoting Datadog's message.
func (c *call) do(ctx context.Context, timeout time.Duration, build func(context.Context) (*http.Request, error), out any) error {
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, timeout, build, out)
		var limited *rateLimited
		if !errors.As(err, &limited) {
			return err
		}
		retryAt := time.Now().Add(limited.reset)
		if attempt > 0 || limited.reset < 0 || retryAt.After(c.deadline) {
			return fmt.Errorf("%w: %s", analysis.ErrInconclusive, limited)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(limited.reset):
		}
	}
}

func (c *call) once(ctx context.Context, timeout time.Duration, build func(context.Context) (*http.Request, error), out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := build(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	what := req.Method + " " + c.address + req.URL.Path
	resp, body, err := c.client.Fetch(req, timeout)
	if err != nil {
		return fmt.Errorf("datadog %s: %w", what, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &rateLimited{reset: resetAfter(resp.Header), name: resp.Header.Get("X-RateLimit-Name")}
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("datadog %s: %s: %s: %w", what, resp.Status, c.messages(body), errNotFound)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("datadog %s: %s: %s; check the API key, and that the application key has the timeseries_query permission",
			what, resp.Status, c.messages(body))
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("datadog %s: %s: %s", what, resp.Status, c.messages(body))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("datadog %s: the answer is not the API's JSON: %w", what, err)
	}
	return nil
}

// rateLimited is a 429 answer.
type rateLimited struct {
	reset time.Duration // -1: not said
	name  string
}

func (r *rateLimited) Error() string {
	s := "rate limited by Datadog"
	if r.name != "" {
		s += " (" + r.name + ")"
	}
	if r.reset >= 0 {
		s += fmt.Sprintf("; the limit resets in %s, after the next measurement is due", r.reset)
	}
	return s
}

// resetAfter reads X-RateLimit-Reset: seconds until the limit resets.
func resetAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Reset")))
	if err != nil || s < 0 {
		return -1
	}
	return time.Duration(s) * time.Second
}

// messages reads Datadog's error body, {"errors": ["..."]}, or quotes the
// start of one that is not; secrets redacted before anything is cut.
func (c *call) messages(body []byte) string {
	var e struct {
		Errors []string `json:"errors"`
	}
	text := []byte(c.client.Redact(string(body)))
	if json.Unmarshal(text, &e) == nil && len(e.Errors) > 0 {
		return outbound.Excerpt([]byte(strings.Join(e.Errors, "; ")))
	}
	return outbound.Excerpt(text)
}

// unsafe are the characters Datadog does not keep in a tag: it turns them
// into underscores, and so does Escape, so that a value stays one tag
// value and cannot close the scope or add a filter.
var unsafe = regexp.MustCompile(`[^A-Za-z0-9_\-:./]`)

// Escape makes a template value a tag value.
func Escape(s string) string { return unsafe.ReplaceAllString(s, "_") }
