// Package newrelic measures metrics with NRQL queries sent through New
// Relic's GraphQL API, NerdGraph.
package newrelic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// Addresses of NerdGraph by region.
var Addresses = map[string]string{
	"US": "https://api.newrelic.com/graphql",
	"EU": "https://api.eu.newrelic.com/graphql",
}

// query is the GraphQL document: the NRQL query and the account are
// variables, so that nothing in them can change the document.
const query = `query($accountId: Int!, $query: Nrql!) { actor { account(id: $accountId) { nrql(query: $query) { results } } } }`

// Provider queries New Relic.
type Provider struct {
	Secrets outbound.Secrets
}

var _ analysis.Provider = Provider{}

// answer is NerdGraph's: data, and GraphQL errors (which may come with a
// 200).
type answer struct {
	Data struct {
		Actor struct {
			Account struct {
				NRQL *struct {
					Results []map[string]any `json:"results"`
				} `json:"nrql"`
			} `json:"account"`
		} `json:"actor"`
	} `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// Measure renders the NRQL query and runs it.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	cfg := m.Provider.NewRelic
	nrql, err := analysis.Render(m.Name, cfg.Query, vars, Escape)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	address, err := address(m, cfg, vars)
	if err != nil {
		return nil, err
	}
	account, err := analysis.Render(m.Name, cfg.AccountID, vars, func(s string) string { return s })
	if err != nil {
		return nil, fmt.Errorf("accountID: %w", err)
	}
	accountID, err := strconv.ParseInt(account, 10, 64)
	if err != nil || accountID <= 0 {
		return nil, fmt.Errorf("accountID %q is not an account number", account)
	}
	client, err := outbound.NewClient(ctx, p.Secrets, outbound.Settings{Headers: []rampv1.Header{{Name: "API-Key", ValueFrom: &cfg.APIKey}}})
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	payload, err := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"accountId": accountID, "query": nrql}})
	if err != nil {
		return nil, err
	}
	timeout := analysis.Timeout(cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, address, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("newrelic address %q: %w", address, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, body, err := client.Fetch(req, timeout)
	if err != nil {
		return nil, fmt.Errorf("newrelic %s: %w (query: %s)", address, err, nrql)
	}
	var a answer
	decodeErr := json.Unmarshal(body, &a)
	if len(a.Errors) > 0 || resp.StatusCode/100 != 2 {
		return nil, errors.New(failure(address, resp, a, []byte(client.Redact(string(body))), nrql, client.Redact))
	}
	if decodeErr != nil || a.Data.Actor.Account.NRQL == nil {
		return nil, fmt.Errorf("newrelic %s: the answer is not NerdGraph's NRQL result (query: %s)", address, nrql)
	}
	return reduce(a.Data.Actor.Account.NRQL.Results, nrql)
}

// failure words an answer that carries errors or a bad status.
func failure(address string, resp *http.Response, a answer, body []byte, nrql string, redact func(string) string) string {
	var msgs []string
	for _, e := range a.Errors {
		msgs = append(msgs, outbound.Excerpt([]byte(redact(e.Message))))
	}
	if len(msgs) == 0 {
		msgs = append(msgs, outbound.Excerpt(body))
	}
	s := fmt.Sprintf("newrelic %s: %s: %s", address, resp.Status, strings.Join(msgs, "; "))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return s + "; apiKey must be a user key (NRAK-...) with access to the account"
	}
	return s + " (query: " + nrql + ")"
}

// reduce turns NRQL result rows into a result. Each row gives its one
// value (the fields New Relic adds to facet and time series rows left
// out) or, with several, the row itself; one row is a scalar (or that
// row), several a vector of numbers (or a list). No row, or only nulls,
// is no data.
func reduce(rows []map[string]any, nrql string) (analysis.Result, error) {
	var values []any
	for _, row := range rows {
		fields := map[string]any{}
		facet, faceted := row["facet"]
		for k, v := range row {
			// A FACET row also names its facet under the attribute's name.
			if !bookkeeping[k] && !(faceted && v == facet) {
				fields[k] = v
			}
		}
		if len(fields) != 1 {
			values = append(values, row)
			continue
		}
		for _, v := range fields {
			if v != nil {
				values = append(values, v)
			}
		}
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("%w: the query returned no rows, or only nulls (%s)", analysis.ErrEmpty, nrql)
	}
	if len(values) == 1 {
		return values[0], nil
	}
	numbers := make([]float64, 0, len(values))
	for _, v := range values {
		f, ok := v.(float64)
		if !ok {
			return values, nil
		}
		numbers = append(numbers, f)
	}
	return numbers, nil
}

// bookkeeping are the fields New Relic adds to a row of a FACET or
// TIMESERIES query besides its values.
var bookkeeping = map[string]bool{"facet": true, "beginTimeSeconds": true, "endTimeSeconds": true}

// address is NerdGraph's for the region, or the one configured.
func address(m *rampv1.Metric, cfg *rampv1.NewRelicMetric, vars analysis.Vars) (string, error) {
	if cfg.Address != "" {
		// The address is the operator's, often an argument: not escaped.
		return analysis.Render(m.Name, cfg.Address, vars, func(s string) string { return s })
	}
	if cfg.Region == "" {
		return Addresses["US"], nil
	}
	return Addresses[cfg.Region], nil
}

// Escape makes a template value safe inside a single-quoted NRQL string.
func Escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", " ").Replace(s)
}
