package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/rampcd/ramp/internal/analysis"
)

// scalarRequest is the body of POST /api/v2/query/scalar.
type scalarRequest struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			From     int64           `json:"from"`
			To       int64           `json:"to"`
			Queries  []scalarQuery   `json:"queries"`
			Formulas []scalarFormula `json:"formulas,omitempty"`
		} `json:"attributes"`
	} `json:"data"`
}

type scalarQuery struct {
	DataSource string `json:"data_source"`
	Query      string `json:"query"`
	Name       string `json:"name"`
	Aggregator string `json:"aggregator"`
}

type scalarFormula struct {
	Formula string `json:"formula"`
}

// scalarResponse is its answer: parallel columns, one row per group.
type scalarResponse struct {
	Data struct {
		Attributes struct {
			Columns []scalarColumn `json:"columns"`
		} `json:"attributes"`
	} `json:"data"`
	Errors string `json:"errors"`
}

type scalarColumn struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Values json.RawMessage `json:"values"`
}

// v2 runs the scalar query API. One value without groups is a scalar;
// a grouped query gives a vector of its groups' values. Groups with no
// data (null) are left out; none left is no data.
func (c *call) v2(ctx context.Context, timeout time.Duration) (analysis.Result, error) {
	var body scalarRequest
	body.Data.Type = "scalar_request"
	a := &body.Data.Attributes
	a.From, a.To = c.from.UnixMilli(), c.to.UnixMilli()
	aggregator := c.cfg.Aggregator
	if aggregator == "" {
		aggregator = "last"
	}
	for _, q := range c.queries {
		a.Queries = append(a.Queries, scalarQuery{DataSource: "metrics", Query: q.Query, Name: q.Name, Aggregator: aggregator})
	}
	if c.cfg.Formula != "" {
		a.Formulas = []scalarFormula{{Formula: c.cfg.Formula}}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var out scalarResponse
	err = c.do(ctx, timeout, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.address+"/api/v2/query/scalar", bytes.NewReader(payload))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}, &out)
	if err != nil {
		return nil, err
	}
	if out.Errors != "" {
		return nil, fmt.Errorf("datadog: %s (query: %s)", c.client.Redact(out.Errors), c.describe())
	}
	grouped := false
	var number *scalarColumn
	for i, col := range out.Data.Attributes.Columns {
		switch col.Type {
		case "group":
			grouped = true
		case "number", "":
			if number == nil {
				number = &out.Data.Attributes.Columns[i]
			}
		}
	}
	if number == nil {
		return nil, fmt.Errorf("%w: Datadog returned no values (query: %s)", analysis.ErrEmpty, c.describe())
	}
	var values []*float64
	if err := json.Unmarshal(number.Values, &values); err != nil {
		return nil, fmt.Errorf("datadog: column %s holds no numbers: %w", number.Name, err)
	}
	var got []float64
	for _, v := range values {
		if v != nil {
			got = append(got, *v)
		}
	}
	switch {
	case len(got) == 0:
		return nil, fmt.Errorf("%w: Datadog has no data in the last %s (query: %s)", analysis.ErrEmpty, c.to.Sub(c.from), c.describe())
	case grouped:
		return got, nil
	}
	return got[0], nil
}

// describe is the query, or the formula and its queries, for messages.
func (c *call) describe() string {
	if c.cfg.Formula == "" {
		return c.queries[0].Query
	}
	s := c.cfg.Formula + " with"
	for _, q := range c.queries {
		s += fmt.Sprintf(" %s = %s", q.Name, q.Query)
	}
	return s
}
