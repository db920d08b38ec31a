package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// loop is one test's full loop: the controller, pods that answer HTTP on
// their loopback IPs, the mesh stand-in, Prometheus scraping both, and a
// Rollout "web" routed by SMI.
type loop struct {
	*fixture.Env
	plane *dataplane.Plane
	prom  *dataplane.Prometheus
	urls  []string // the mesh's addresses for Service web, one per proxy
}

func newLoop(t *testing.T) *loop {
	t.Helper()
	e := fixture.New(t)
	e.StartController()
	e.Apply("config/analysis/templates.yaml")
	ctx := context.Background()
	dir := t.TempDir()
	targets := filepath.Join(dir, "pods.json")
	plane, err := dataplane.Start(ctx, clustertest.Config(t), e.NS, dataplane.Options{TargetsFile: targets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plane.Close)
	prom, err := dataplane.StartPrometheus(ctx, dir, targets, plane.Mesh.MetricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })
	e.Create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})
	urls, err := plane.Mesh.URLs("web")
	if err != nil {
		t.Fatal(err)
	}
	return &loop{Env: e, plane: plane, prom: prom, urls: urls}
}

// rollout is web at v1, served on port 8080, routed by SMI.
func (l *loop) rollout(steps ...rampv1.Step) *rampv1.Rollout {
	ro := l.Rollout("web", "web:v1", steps...)
	ro.Spec.Service = "web"
	ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}}
	fixture.ShortMeshDelays(ro)
	c := &ro.Spec.Template.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	c.Env = []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: "v1"}}
	return ro
}

// release moves web to a version with the given behaviour.
func (l *loop) release(version string, env ...corev1.EnvVar) {
	l.Update("web", func(ro *rampv1.Rollout) {
		c := &ro.Spec.Template.Spec.Containers[0]
		c.Image = "web:" + version
		c.Env = append([]corev1.EnvVar{{Name: dataplane.EnvVersion, Value: version}}, env...)
	})
}

// analysis is an analysis step with a built-in template, its Prometheus
// this test's and its window short.
func (l *loop) analysis(template string, args ...rampv1.Argument) rampv1.AnalysisStep {
	return rampv1.AnalysisStep{
		Templates: []rampv1.TemplateRef{{TemplateName: template, ClusterScope: true}},
		Args: append([]rampv1.Argument{
			{Name: "prometheus", Value: ptr.To(l.prom.URL)},
			{Name: "window", Value: ptr.To("10s")},
		}, args...),
	}
}

// load sends requests to web through the mesh until the test ends.
func (l *loop) load(t *testing.T, rate int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { dataplane.Load(ctx, l.urls, rate, 0); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestAnalysisPromotesAGoodVersion is the classic canary: 25% of the
// traffic to v2, then "no more than 1% of requests answer 5xx" on real
// requests measured by a real Prometheus, then promotion.
func TestAnalysisPromotesAGoodVersion(t *testing.T) {
	t.Parallel()
	l := newLoop(t)
	step := l.analysis("success-rate-linkerd")
	l.Create(l.rollout(fixture.SetWeight(25), rampv1.Step{Analysis: &step}))
	l.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	l.load(t, 50)
	l.release("v2")
	ro := l.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, 2*fixture.Wait)
	runs := &rampv1.AnalysisRunList{}
	if err := l.C.List(context.Background(), runs, client.InNamespace(l.NS)); err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != 1 || runs.Items[0].Status.Phase != rampv1.AnalysisSuccessful {
		t.Fatalf("analysis runs: %+v", runs.Items)
	}
	// The analysis may start before Prometheus has the canary's first
	// samples: such a gap is measured again, and only a real value passes.
	m := runs.Items[0].Status.MetricResults[0]
	last := m.Measurements[len(m.Measurements)-1]
	if last.Phase != rampv1.AnalysisSuccessful || last.Value == "" || last.Value == "NaN" || m.Successful != 1 {
		t.Errorf("the error rate was not measured: %+v", m)
	}
	t.Logf("promoted %s; error rate measured %s after %d gap(s)", ro.Status.StableRevision, last.Value, m.Inconclusive)
}

// TestAnalysisRollsBackErrors: v2 answers 5% of requests with 5xx. The
// background analysis catches it within one interval (10s) plus one
// scrape (1s) of v2 getting traffic, and Ramp rolls back.
func TestAnalysisRollsBackErrors(t *testing.T) {
	t.Parallel()
	l := newLoop(t)
	bg := l.analysis("success-rate-linkerd")
	ro := l.rollout(fixture.SetWeight(25), fixture.Pause(0))
	ro.Spec.Strategy.Canary.Analysis = &rampv1.BackgroundAnalysis{AnalysisStep: bg}
	l.Create(ro)
	l.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	l.load(t, 100)
	split := l.Record(trafficSplitGVK)
	l.release("v2", corev1.EnvVar{Name: dataplane.EnvErrorRate, Value: "0.05"})
	got := l.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, 2*fixture.Wait)
	if got.Status.Abort == nil || got.Status.Abort.Reason != "AnalysisFailed" {
		t.Fatalf("abort: %+v", got.Status.Abort)
	}
	traffic, ok := split.FirstWriteAfter("web", 0, func(u *unstructured.Unstructured) bool {
		backends, _, _ := unstructured.NestedSlice(u.Object, "spec", "backends")
		return len(backends) == 2 && fmt.Sprint(backends[1].(map[string]any)["weight"]) == "25"
	})
	if !ok {
		t.Fatal("the canary never got 25%")
	}
	took := got.Status.Abort.At.Sub(traffic.Seen)
	if limit := 10*time.Second + time.Second + 2*time.Second; took > limit {
		t.Errorf("rolled back %s after v2 got traffic, want within one interval and one scrape (%s, with 2s to spare)", took, limit)
	}
	t.Logf("rolled back %s after v2 got traffic: %s", took.Round(time.Millisecond), got.Status.Abort.Message)
}

// TestAnalysisRollsBackSlowness: v2 adds 300ms to every request; the p99
// latency check (at most 100ms) rolls it back.
func TestAnalysisRollsBackSlowness(t *testing.T) {
	t.Parallel()
	l := newLoop(t)
	step := l.analysis("latency-p99-linkerd", rampv1.Argument{Name: "maxLatencyMs", Value: ptr.To("100")})
	l.Create(l.rollout(fixture.SetWeight(25), fixture.Pause(5*time.Second), rampv1.Step{Analysis: &step}, fixture.Pause(0)))
	l.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	l.load(t, 50)
	l.release("v2", corev1.EnvVar{Name: dataplane.EnvLatencyMS, Value: "300"})
	got := l.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "2", Replicas: "1:4 2:0"}, 2*fixture.Wait)
	if got.Status.Abort == nil || got.Status.Abort.Reason != "AnalysisFailed" {
		t.Fatalf("abort: %+v", got.Status.Abort)
	}
	t.Log(got.Status.Abort.Message)
}

// TestAnalysisSurvivesPrometheusOutage stops Prometheus during an
// analysis: measurements become errors, and past consecutiveErrorLimit the
// analysis fails and the canary rolls back. With Prometheus back, a retry's
// analysis works and the canary is promoted.
func TestAnalysisSurvivesPrometheusOutage(t *testing.T) {
	t.Parallel()
	l := newLoop(t)
	l.Create(&rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: l.NS},
		Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
			Name: "error-rate", Interval: &metav1.Duration{Duration: time.Second}, Count: ptr.To[int32](5),
			ConsecutiveErrorLimit: ptr.To[int32](2), SuccessCondition: "result <= 0.01",
			EmptyResult: rampv1.EmptySuccessful,
			Provider: rampv1.MetricProvider{Prometheus: &rampv1.PrometheusMetric{
				Address: l.prom.URL, Timeout: &metav1.Duration{Duration: time.Second},
				Query: `scalar(sum(rate(response_total{namespace="{{.Namespace}}", pod=~"{{.CanaryPods}}", classification="failure"}[10s])) / sum(rate(response_total{namespace="{{.Namespace}}", pod=~"{{.CanaryPods}}"}[10s])))`,
			}},
		}}},
	})
	step := rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}
	l.Create(l.rollout(fixture.SetWeight(25), rampv1.Step{Analysis: &step}))
	l.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	l.load(t, 50)
	if err := l.prom.Stop(); err != nil {
		t.Fatal(err)
	}
	l.release("v2")
	got := l.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, 2*fixture.Wait)
	run := &rampv1.AnalysisRun{}
	if err := l.C.Get(context.Background(), client.ObjectKey{Namespace: l.NS, Name: "web-" + got.Status.CanaryRevision + "-1-step-1"}, run); err != nil {
		t.Fatal(err)
	}
	m := run.Status.MetricResults[0]
	if m.Phase != rampv1.AnalysisFailed || m.Error != 3 || m.Measurements[0].Phase != rampv1.AnalysisError || m.Measurements[0].Message == "" {
		t.Errorf("metric during the outage: %+v", m)
	}
	t.Logf("outage: %s", m.Message)

	if err := l.prom.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Request("web", rampv1.AnnotationRetry)
	l.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, 2*fixture.Wait)
	if err := l.C.Get(context.Background(), client.ObjectKey{Namespace: l.NS, Name: "web-" + got.Status.CanaryRevision + "-2-step-1"}, run); err != nil {
		t.Fatal(err)
	}
	if run.Status.Phase != rampv1.AnalysisSuccessful {
		t.Errorf("the retry's analysis: %s %s", run.Status.Phase, run.Status.Message)
	}
}

// TestMeshSplitsAsWeighted sends real requests through the mesh stand-in
// while the TrafficSplit gives the canary 10%, then 1%.
func TestMeshSplitsAsWeighted(t *testing.T) {
	t.Parallel()
	l := newLoop(t)
	l.Create(l.rollout(fixture.SetWeight(10), fixture.Pause(0), fixture.SetWeight(1), fixture.Pause(0)))
	l.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	l.release("v2")
	l.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
	check := func(n int, want, tolerance float64) {
		tally := dataplane.Load(context.Background(), l.urls, 2000, n)
		total, codes, versions := tally.Snapshot()
		share := float64(versions["v2"]) / float64(total)
		t.Logf("%d requests: v2 %d (%.2f%%), v1 %d, codes %v, errors %d", total, versions["v2"], 100*share, versions["v1"], codes, tally.Errors)
		if math.Abs(share-want) > tolerance || codes[200] != total {
			t.Errorf("v2 got %.2f%% of %d requests, want %.1f%% ± %.1f%%", 100*share, total, 100*want, 100*tolerance)
		}
	}
	check(5000, 0.10, 0.02)
	l.Request("web", rampv1.AnnotationPromote)
	l.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:4 2:1"}, fixture.Wait)
	check(20000, 0.01, 0.003)
}

var trafficSplitGVK = schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplit"}
