package datadog

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rampcd/ramp/internal/analysis"
)

// timeseriesResponse is the answer of GET /api/v1/query.
type timeseriesResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Series []struct {
		Pointlist [][]*float64 `json:"pointlist"`
	} `json:"series"`
}

// v1 runs the timeseries query and takes each series' last point that
// has a value: one series is a scalar, several a vector.
func (c *call) v1(ctx context.Context, timeout time.Duration) (analysis.Result, error) {
	q := url.Values{}
	q.Set("from", strconv.FormatInt(c.from.Unix(), 10))
	q.Set("to", strconv.FormatInt(c.to.Unix(), 10))
	q.Set("query", c.queries[0].Query)
	var out timeseriesResponse
	err := c.do(ctx, timeout, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.address+"/api/v1/query?"+q.Encode(), nil)
	}, &out)
	if err != nil {
		return nil, err
	}
	if out.Status == "error" {
		return nil, fmt.Errorf("datadog: %s (query: %s)", c.client.Redact(out.Error), c.describe())
	}
	var got []float64
	for _, s := range out.Series {
		for i := len(s.Pointlist) - 1; i >= 0; i-- {
			if p := s.Pointlist[i]; len(p) == 2 && p[1] != nil {
				got = append(got, *p[1])
				break
			}
		}
	}
	switch len(got) {
	case 0:
		return nil, fmt.Errorf("%w: Datadog has no data in the last %s (query: %s)", analysis.ErrEmpty, c.to.Sub(c.from), c.describe())
	case 1:
		return got[0], nil
	}
	return got, nil
}
