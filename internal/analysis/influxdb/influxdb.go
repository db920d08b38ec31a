// Package influxdb measures metrics with InfluxDB queries: Flux through
// the official InfluxDB 2 client, InfluxQL with the official 1.x client's
// answer types. Both go through Ramp's outbound client, so that answers
// are size-limited and secrets redacted.
package influxdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxql "github.com/influxdata/influxdb1-client/v2"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// Provider queries InfluxDB.
type Provider struct {
	Secrets outbound.Secrets
}

var _ analysis.Provider = Provider{}

// Measure renders the query and runs it: each series (InfluxQL) or table
// (Flux) gives its last value; one is a scalar, several a vector.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	cfg := m.Provider.InfluxDB
	address, err := analysis.Render(m.Name, cfg.Address, vars, func(s string) string { return s })
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	address = strings.TrimSuffix(address, "/")
	token := ""
	if cfg.Token != nil {
		if token, err = p.Secrets.Value(ctx, *cfg.Token); err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
	}
	client, err := outbound.NewClient(ctx, p.Secrets, outbound.Settings{TLS: cfg.TLS})
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	timeout := analysis.Timeout(cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		values []float64
		query  string
	)
	if cfg.Flux != "" {
		if query, err = analysis.Render(m.Name, cfg.Flux, vars, FluxEscape); err != nil {
			return nil, fmt.Errorf("flux: %w", err)
		}
		values, err = flux(ctx, client.Client, address, token, cfg.Org, query)
	} else {
		if query, err = analysis.Render(m.Name, cfg.InfluxQL, vars, InfluxQLEscape); err != nil {
			return nil, fmt.Errorf("influxQL: %w", err)
		}
		values, err = influxQL(ctx, client.Client, address, token, cfg.Database, query, redact(client, token))
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return nil, fmt.Errorf("influxdb %s: timed out after %s (query: %s)", address, timeout, query)
	case err != nil:
		return nil, errors.New(redact(client, token)(fmt.Sprintf("influxdb %s: %v (query: %s)", address, err, query)))
	case len(values) == 0:
		return nil, fmt.Errorf("%w: the query returned no value (%s)", analysis.ErrEmpty, query)
	case len(values) == 1:
		return values[0], nil
	}
	return values, nil
}

// redact removes the client's secrets and the token (and the password of a
// username:password) from s.
func redact(client *outbound.Client, token string) func(string) string {
	_, password, _ := strings.Cut(token, ":")
	return func(s string) string {
		for _, secret := range []string{token, password} {
			if secret != "" {
				s = strings.ReplaceAll(s, secret, "[redacted]")
			}
		}
		return client.Redact(s)
	}
}

// flux runs a Flux query with the InfluxDB 2 client and takes each
// table's last value.
func flux(ctx context.Context, hc *http.Client, address, token, org, query string) ([]float64, error) {
	c := influxdb2.NewClientWithOptions(address, token, influxdb2.DefaultOptions().SetHTTPClient(hc))
	defer c.Close()
	result, err := c.QueryAPI(org).Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer result.Close()
	last := map[int]float64{}
	var order []int
	for result.Next() {
		r := result.Record()
		v, ok := number(r.Value())
		if !ok {
			continue
		}
		if _, seen := last[r.Table()]; !seen {
			order = append(order, r.Table())
		}
		last[r.Table()] = v
	}
	if err := result.Err(); err != nil {
		return nil, err
	}
	values := make([]float64, 0, len(order))
	for _, t := range order {
		values = append(values, last[t])
	}
	return values, nil
}

// influxQL runs an InfluxQL query (GET /query) and takes each series'
// last row's first value that is a number. The answer is read with the
// official 1.x client's types; the request goes through hc, which the
// 1.x client cannot take.
func influxQL(ctx context.Context, hc *http.Client, address, token, database, query string, redact func(string) string) ([]float64, error) {
	q := url.Values{"db": {database}, "q": {query}, "epoch": {"s"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, address+"/query?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		// 1.x: username:password; 2.x's v1 API: any user, the token as
		// the password.
		user, password, ok := strings.Cut(token, ":")
		if !ok {
			user, password = "ramp", token
		}
		req.SetBasicAuth(user, password)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var answer influxql.Response
	decoder := json.NewDecoder(strings.NewReader(string(body)))
	decoder.UseNumber()
	if err := decoder.Decode(&answer); err != nil {
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("%s: %s", resp.Status, outbound.Excerpt([]byte(redact(string(body)))))
		}
		return nil, fmt.Errorf("the answer is not InfluxQL's JSON: %w", err)
	}
	if err := answer.Error(); err != nil {
		return nil, fmt.Errorf("%s: %w", resp.Status, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s: %s", resp.Status, outbound.Excerpt([]byte(redact(string(body)))))
	}
	var values []float64
	for _, r := range answer.Results {
		for _, s := range r.Series {
			if len(s.Values) == 0 {
				continue
			}
			row := s.Values[len(s.Values)-1]
			for i, col := range s.Columns {
				if i >= len(row) || col == "time" {
					continue
				}
				if v, ok := number(row[i]); ok {
					values = append(values, v)
					break
				}
			}
		}
	}
	return values, nil
}

// number reads a JSON or Flux value as a float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// FluxEscape makes a template value safe inside a double-quoted Flux
// string, where ${...} would be an interpolation.
func FluxEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`).Replace(s)
}

// InfluxQLEscape makes a template value safe inside a single-quoted
// InfluxQL string.
func InfluxQLEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", ` `).Replace(s)
}
