// Package web measures metrics by reading a value from a JSON document
// fetched with an HTTP GET.
package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/client-go/util/jsonpath"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// maxBody bounds the document read.
const maxBody = 1 << 20

// Provider fetches JSON documents.
type Provider struct {
	Secrets outbound.Secrets
}

var _ analysis.Provider = Provider{}

// Measure fetches the metric's URL and reads the JSON path. A number (or
// a string holding one) becomes a float64; any other value is passed to
// the conditions as it is.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	cfg := m.Provider.Web
	url, err := analysis.Render(m.Name, cfg.URL, vars, outbound.URLEscape)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	jp := jsonpath.New(m.Name)
	if err := jp.Parse(cfg.JSONPath); err != nil {
		return nil, fmt.Errorf("jsonPath %q: %w", cfg.JSONPath, err)
	}
	client, err := outbound.NewClient(ctx, p.Secrets, outbound.Settings{Headers: cfg.Headers, TLS: cfg.TLS})
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	timeout := analysis.Timeout(cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("GET %s: the response is not JSON: %w", url, err)
	}
	found, err := jp.FindResults(doc)
	if err != nil || len(found) == 0 || len(found[0]) == 0 {
		return nil, fmt.Errorf("%w: jsonPath %s found nothing in the response of %s", analysis.ErrEmpty, cfg.JSONPath, url)
	}
	r := toResult(found[0][0].Interface())
	if s, ok := r.(string); ok { // a value may quote the request back
		r = client.Redact(s)
	}
	return r, nil
}

func toResult(v any) analysis.Result {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f
		}
	}
	return v
}
