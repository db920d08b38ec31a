// Package prometheus measures metrics with instant PromQL queries.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// Provider queries Prometheus.
type Provider struct {
	Secrets outbound.Secrets
	// Now is the query's evaluation time (time.Now when nil).
	Now func() time.Time
}

var _ analysis.Provider = Provider{}

// Measure renders the metric's query and runs it. A vector gives a list
// of values, a scalar one value; no sample is analysis.ErrEmpty.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	cfg := m.Provider.Prometheus
	query, err := analysis.Render(m.Name, cfg.Query, vars, analysis.PromQLEscape)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	// The address is the operator's, often an argument: not escaped.
	address, err := analysis.Render(m.Name, cfg.Address, vars, func(s string) string { return s })
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	httpClient, err := outbound.NewClient(ctx, p.Secrets, outbound.Settings{
		Headers: cfg.Headers, BearerToken: cfg.BearerTokenSecret, TLS: cfg.TLS,
	})
	if err != nil {
		return nil, err
	}
	defer httpClient.CloseIdleConnections()
	client, err := api.NewClient(api.Config{Address: address, Client: httpClient.Client})
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	timeout := analysis.Timeout(cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	value, _, err := promv1.NewAPI(client).Query(ctx, query, now(), promv1.WithTimeout(timeout))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("prometheus %s: query timed out after %s: %s", address, timeout, query)
		}
		// An error may quote the server's answer, which may quote the request.
		return nil, errors.New(httpClient.Redact(fmt.Sprintf("prometheus %s: %v (query: %s)", address, err, query)))
	}
	switch v := value.(type) {
	case model.Vector:
		if len(v) == 0 {
			return nil, fmt.Errorf("%w: the query returned an empty vector (%s)", analysis.ErrEmpty, query)
		}
		out := make([]float64, len(v))
		for i, s := range v {
			out[i] = float64(s.Value)
		}
		return out, nil
	case *model.Scalar:
		if math.IsNaN(float64(v.Value)) {
			return nil, fmt.Errorf("%w: the query returned NaN (%s)", analysis.ErrEmpty, query)
		}
		return float64(v.Value), nil
	}
	return nil, fmt.Errorf("prometheus %s: the query returns a %s; use an instant vector or a scalar (query: %s)", address, value.Type(), query)
}
