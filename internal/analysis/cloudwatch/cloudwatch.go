// Package cloudwatch measures metrics with Amazon CloudWatch's
// GetMetricData, through the official AWS SDK for Go v2 and its default
// credential chain.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// maxPages bounds how many pages of one answer Ramp reads: a window of a
// metric's interval holds far fewer points than that many pages carry.
const maxPages = 10

// Provider queries CloudWatch.
type Provider struct {
	// Now is the end of the window (time.Now when nil).
	Now func() time.Time
	// Options change the SDK's client (tests: retries).
	Options []func(*cloudwatch.Options)
}

var _ analysis.Provider = Provider{}

// Measure runs the metric's queries over the interval that ends now and
// returns the newest value of each query that returns data.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	cfg := m.Provider.CloudWatch
	queries, err := dataQueries(m, vars)
	if err != nil {
		return nil, err
	}
	timeout := analysis.Timeout(cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Ramp's outbound client: answers size-limited like every provider's.
	hc, err := outbound.NewClient(ctx, nil, outbound.Settings{})
	if err != nil {
		return nil, err
	}
	defer hc.CloseIdleConnections()
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloudwatch: the AWS SDK's configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("cloudwatch: no region: set the metric's region, or AWS_REGION in the controller's environment")
	}
	clientOpts := append([]func(*cloudwatch.Options){func(o *cloudwatch.Options) { o.HTTPClient = hc }}, p.Options...)
	if cfg.Address != "" {
		address, err := analysis.Render(m.Name, cfg.Address, vars, func(s string) string { return s })
		if err != nil {
			return nil, fmt.Errorf("address: %w", err)
		}
		clientOpts = append(clientOpts, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(address) })
	}
	client := cloudwatch.NewFromConfig(awsCfg, clientOpts...)
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	interval := analysis.Interval(m)
	end := now()
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(end.Add(-interval)), EndTime: aws.Time(end),
		MetricDataQueries: queries, ScanBy: types.ScanByTimestampDescending,
	}
	newest := map[string]float64{}
	pages := cloudwatch.NewGetMetricDataPaginator(client, in, func(o *cloudwatch.GetMetricDataPaginatorOptions) { o.StopOnDuplicateToken = true })
	for n := 0; pages.HasMorePages() && n < maxPages; n++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("cloudwatch: timed out after %s", timeout)
			}
			return nil, fmt.Errorf("cloudwatch: %w", err)
		}
		for _, r := range out.MetricDataResults {
			if r.StatusCode == types.StatusCodeForbidden || r.StatusCode == types.StatusCodeInternalError {
				return nil, fmt.Errorf("cloudwatch: query %s: %s%s", ptr.Deref(r.Id, ""), r.StatusCode, messages(r.Messages))
			}
			id := ptr.Deref(r.Id, "")
			// Newest first: a query's first value is its newest, on the
			// first page that has one.
			if _, seen := newest[id]; !seen && len(r.Values) > 0 {
				newest[id] = r.Values[0]
			}
		}
	}
	// Every returned query has its place in the result: one without a
	// datapoint makes it no data, rather than moving the others up.
	var got []float64
	for _, q := range cfg.Queries {
		if !ptr.Deref(q.ReturnData, true) {
			continue
		}
		v, ok := newest[q.ID]
		if !ok {
			return nil, fmt.Errorf("%w: query %s has no datapoint in the last %s", analysis.ErrEmpty, q.ID, interval)
		}
		got = append(got, v)
	}
	if len(got) == 1 {
		return got[0], nil
	}
	return got, nil
}

// dataQueries renders the metric's queries for the SDK.
func dataQueries(m *rampv1.Metric, vars analysis.Vars) ([]types.MetricDataQuery, error) {
	raw := func(s string) string { return s }
	var out []types.MetricDataQuery
	for _, q := range m.Provider.CloudWatch.Queries {
		dq := types.MetricDataQuery{Id: aws.String(q.ID), ReturnData: aws.Bool(ptr.Deref(q.ReturnData, true))}
		if q.Label != "" {
			dq.Label = aws.String(q.Label)
		}
		if q.Expression != "" {
			// Values are the operator's and go to CloudWatch as data,
			// not into a shell or a query language Ramp parses.
			expr, err := analysis.Render(m.Name, q.Expression, vars, raw)
			if err != nil {
				return nil, fmt.Errorf("query %s expression: %w", q.ID, err)
			}
			dq.Expression = aws.String(expr)
		}
		if s := q.MetricStat; s != nil {
			metric := &types.Metric{Namespace: aws.String(s.Namespace), MetricName: aws.String(s.MetricName)}
			for _, d := range s.Dimensions {
				v, err := analysis.Render(m.Name, d.Value, vars, raw)
				if err != nil {
					return nil, fmt.Errorf("query %s dimension %s: %w", q.ID, d.Name, err)
				}
				metric.Dimensions = append(metric.Dimensions, types.Dimension{Name: aws.String(d.Name), Value: aws.String(v)})
			}
			dq.MetricStat = &types.MetricStat{Metric: metric, Period: aws.Int32(ptr.Deref(s.Period, 60)), Stat: aws.String(s.Stat)}
			if s.Unit != "" {
				dq.MetricStat.Unit = types.StandardUnit(s.Unit)
			}
		}
		out = append(out, dq)
	}
	return out, nil
}

func messages(ms []types.MessageData) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, ptr.Deref(m.Code, "")+": "+ptr.Deref(m.Value, ""))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
