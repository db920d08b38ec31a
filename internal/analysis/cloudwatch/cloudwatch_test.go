package cloudwatch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
	fake "github.com/rampcd/ramp/test/fakes/cloudwatch"
)

// TestMain gives the SDK's default chain credentials from the environment
// and keeps it off the instance metadata service: nothing leaves loopback.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDRAMPTEST", "AWS_SECRET_ACCESS_KEY": "s3cret", "AWS_REGION": "eu-west-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

// noBackoff retries at once, so that a throttled call costs no second.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// TestMeasure runs GetMetricData through the real AWS SDK against the fake
// CloudWatch (test/fakes/cloudwatch, which follows the published API and
// the SDK's wire protocol): metrics and expressions, pages, the window,
// and one case per documented error.
func TestMeasure(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	errors5xx := rampv1.CloudWatchQuery{ID: "errors", ReturnData: ptr.To(false), MetricStat: &rampv1.CloudWatchMetricStat{
		Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Stat: "Sum",
		Dimensions: []rampv1.CloudWatchDimension{{Name: "TargetGroup", Value: "{{.Args.targetGroup}}"}}}}
	requests := rampv1.CloudWatchQuery{ID: "requests", ReturnData: ptr.To(false), MetricStat: &rampv1.CloudWatchMetricStat{
		Namespace: "AWS/ApplicationELB", MetricName: "RequestCount", Stat: "Sum"}}
	rate := rampv1.CloudWatchQuery{ID: "rate", Expression: "errors / requests"}
	latency := rampv1.CloudWatchQuery{ID: "latency", MetricStat: &rampv1.CloudWatchMetricStat{
		Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Stat: "p99", Period: ptr.To[int32](300)}}
	points := func(vs ...float64) []fake.Point {
		var out []fake.Point
		for i, v := range vs { // the last the newest, a minute apart
			out = append(out, fake.Point{At: now.Add(time.Duration(i-len(vs)) * time.Minute), Value: v})
		}
		return out
	}
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stop }))
	defer slow.Close()
	defer close(stop)

	tests := []struct {
		name     string
		queries  []rampv1.CloudWatchQuery
		setup    func(*fake.Server)
		with     func(*rampv1.CloudWatchMetric)
		want     analysistest.Want
		requests int
	}{
		{name: "an expression over two metrics", queries: []rampv1.CloudWatchQuery{errors5xx, requests, rate},
			setup: func(s *fake.Server) { s.Set("errors / requests", points(0.5, 0.02)...) }, want: analysistest.Want{Result: 0.02}, requests: 1},
		{name: "two series returned", queries: []rampv1.CloudWatchQuery{rate, latency}, setup: func(s *fake.Server) {
			s.Set("errors / requests", points(0.01)...)
			s.Set("AWS/ApplicationELB/TargetResponseTime/:p99", points(0.3, 0.25)...)
		}, want: analysistest.Want{Result: []float64{0.01, 0.25}}},
		{name: "pages", queries: []rampv1.CloudWatchQuery{rate, latency}, setup: func(s *fake.Server) {
			s.PageSize(1)
			s.Set("errors / requests", points(0.3, 0.01)...)
			s.Set("AWS/ApplicationELB/TargetResponseTime/:p99", points(0.4, 0.2)...)
		}, want: analysistest.Want{Result: []float64{0.01, 0.2}}, requests: 4},
		{name: "an expired token (InvalidNextToken)", queries: []rampv1.CloudWatchQuery{rate}, setup: func(s *fake.Server) {
			s.PageSize(1)
			s.BadToken()
			s.Set("errors / requests", points(0.3, 0.01)...)
		}, want: analysistest.Want{Err: "InvalidNextToken"}, requests: 2},
		{name: "one of two without a datapoint", queries: []rampv1.CloudWatchQuery{rate, latency},
			setup: func(s *fake.Server) { s.Set("AWS/ApplicationELB/TargetResponseTime/:p99", points(0.3)...) },
			want:  analysistest.Want{Empty: true}},
		{name: "no datapoint", queries: []rampv1.CloudWatchQuery{rate}, want: analysistest.Want{Empty: true}},
		{name: "points outside the window", queries: []rampv1.CloudWatchQuery{rate},
			setup: func(s *fake.Server) { s.Set("errors / requests", fake.Point{At: now.Add(-time.Hour), Value: 1}) },
			want:  analysistest.Want{Empty: true}},
		{name: "a bad period (ValidationError)", queries: []rampv1.CloudWatchQuery{{ID: "x", MetricStat: &rampv1.CloudWatchMetricStat{
			Namespace: "n", MetricName: "m", Stat: "Sum", Period: ptr.To[int32](7)}}},
			want: analysistest.Want{Err: "StatusCode: 400"}},
		{name: "another account's key (AccessDenied)", queries: []rampv1.CloudWatchQuery{rate}, setup: func(s *fake.Server) {},
			with: func(c *rampv1.CloudWatchMetric) { c.Address = "{{.Args.other}}" },
			want: analysistest.Want{Err: "AccessDenied"}},
		{name: "throttled once, retried", queries: []rampv1.CloudWatchQuery{rate},
			setup: func(s *fake.Server) { s.Throttle(1); s.Set("errors / requests", points(0.04)...) },
			want:  analysistest.Want{Result: 0.04}, requests: 2},
		{name: "throttled past the retries", queries: []rampv1.CloudWatchQuery{rate},
			setup: func(s *fake.Server) { s.Throttle(3) }, want: analysistest.Want{Err: "Throttling: Rate exceeded"}, requests: 3},
		{name: "a timeout", queries: []rampv1.CloudWatchQuery{rate}, with: func(c *rampv1.CloudWatchMetric) {
			c.Address, c.Timeout = slow.URL, &metav1.Duration{Duration: 200 * time.Millisecond}
		}, want: analysistest.Want{Err: "timed out after 200ms"}},
	}
	other := fake.New("AKIDSOMEONEELSE")
	defer other.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fake.New("AKIDRAMPTEST")
			defer srv.Close()
			if tt.setup != nil {
				tt.setup(srv)
			}
			cfg := &rampv1.CloudWatchMetric{Address: srv.URL, Queries: tt.queries}
			if tt.with != nil {
				tt.with(cfg)
			}
			m := &rampv1.Metric{Name: "errors", Interval: &metav1.Duration{Duration: 5 * time.Minute}, Provider: rampv1.MetricProvider{CloudWatch: cfg}}
			p := Provider{Now: func() time.Time { return now }, Options: []func(*cloudwatch.Options){func(o *cloudwatch.Options) {
				o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
			}}}
			vars := analysis.Vars{Args: map[string]string{"targetGroup": "targetgroup/web/1", "other": other.URL}}
			got, err := p.Measure(context.Background(), m, vars)
			analysistest.Check(t, got, err, tt.want, "s3cret")
			if reqs := srv.Requests(); tt.requests > 0 && len(reqs) != tt.requests {
				t.Errorf("%d calls, want %d: %+v", len(reqs), tt.requests, reqs)
			}
		})
	}
}

// TestRequest: the window is the interval before now, and template values
// reach the dimensions.
func TestRequest(t *testing.T) {
	srv := fake.New("AKIDRAMPTEST")
	defer srv.Close()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	m := &rampv1.Metric{Name: "m", Interval: &metav1.Duration{Duration: 2 * time.Minute}, Provider: rampv1.MetricProvider{CloudWatch: &rampv1.CloudWatchMetric{
		Address: srv.URL, Queries: []rampv1.CloudWatchQuery{{ID: "errors", MetricStat: &rampv1.CloudWatchMetricStat{
			Namespace: "app", MetricName: "errors", Stat: "Sum", Dimensions: []rampv1.CloudWatchDimension{{Name: "Revision", Value: "{{.CanaryRevision}}"}}}}}}}}
	_, _ = Provider{Now: func() time.Time { return now }}.Measure(context.Background(), m, analysis.Vars{CanaryRevision: "abc12"})
	reqs := srv.Requests()
	if len(reqs) != 1 || !reqs[0].Start.Equal(now.Add(-2*time.Minute)) || !reqs[0].End.Equal(now) ||
		strings.Join(reqs[0].Queries, ";") != "app/errors/Revision=abc12:Sum" {
		t.Errorf("requests %+v, want the 2m before %s for app/errors/Revision=abc12:Sum", reqs, now)
	}
}

// TestNoRegion: without a region anywhere, a clear error.
func TestNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	m := &rampv1.Metric{Name: "m", Provider: rampv1.MetricProvider{CloudWatch: &rampv1.CloudWatchMetric{Queries: []rampv1.CloudWatchQuery{{ID: "x", Expression: "1"}}}}}
	_, err := Provider{}.Measure(context.Background(), m, analysis.Vars{})
	if err == nil || !strings.Contains(err.Error(), "no region") {
		t.Errorf("err = %v, want one saying to set the region", err)
	}
}
