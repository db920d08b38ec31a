package safety

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
)

// errorRate serves, for the background analysis, the worst share of
// requests any version failed on purpose over the last two seconds of the
// load: a metric as a mesh's request metrics would give it, read from the
// load's own tally.
type errorRate struct {
	url string
}

func serveErrorRate(t testing.TB, tally *dataplane.Tally) *errorRate {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		since := tally.Elapsed() - 2*time.Second
		total, injected := map[string]int{}, map[string]int{}
		for _, req := range tally.Requests() {
			if req.At >= since && req.Version != "" {
				total[req.Version]++
				if req.Injected {
					injected[req.Version]++
				}
			}
		}
		worst := 0.0
		for v, n := range total {
			worst = max(worst, float64(injected[v])/float64(n))
		}
		_ = json.NewEncoder(w).Encode(map[string]float64{"errorRate": worst})
	}))
	t.Cleanup(srv.Close)
	return &errorRate{url: srv.URL}
}

// template measures it each second, count times (0: until the canary
// ends): above 5%, the canary fails.
func (e *errorRate) template(ns, name string, count int32) *rampv1.AnalysisTemplate {
	var n *int32
	if count > 0 {
		n = &count
	}
	return &rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
			Name: "error-rate", Interval: &metav1.Duration{Duration: time.Second}, Count: n,
			SuccessCondition: "result <= 0.05", FailureLimit: ptr.To[int32](0), ConsecutiveErrorLimit: ptr.To[int32](5),
			Provider: rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: e.url, JSONPath: "{.errorRate}"}},
		}}},
	}
}
