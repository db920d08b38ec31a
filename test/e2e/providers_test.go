package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fakes/cloudwatch"
	"github.com/rampcd/ramp/test/fakes/datadog"
	"github.com/rampcd/ramp/test/fakes/newrelic"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/graphite"
	"github.com/rampcd/ramp/test/influxdb"
	"github.com/rampcd/ramp/test/localcluster"
)

// hosted is a metric provider's hosted service, played by its fake: it
// answers a low error rate to every query but those bad says fail.
type hosted struct {
	name     string
	template string
	// secret is the Secret of the template's keys: its name and data.
	secret     string
	secretData map[string]string
	// serve starts the fake; args are the template's arguments that
	// point it at the fake; asked lists the queries it was sent.
	serve func(t *testing.T, bad func(query string) bool) (args []rampv1.Argument, asked func() []string)
}

var hostedProviders = []hosted{
	{name: "Datadog", template: "success-rate-datadog", secret: "datadog", secretData: map[string]string{"api-key": "api-1", "app-key": "app-1"},
		serve: func(t *testing.T, bad func(string) bool) ([]rampv1.Argument, func() []string) {
			dd := datadog.New("api-1", "app-1")
			t.Cleanup(dd.Close)
			dd.Answer(func(query string) datadog.Answer {
				if bad(query) {
					return datadog.Value(0.2)
				}
				return datadog.Value(0.001)
			})
			return []rampv1.Argument{{Name: "datadog", Value: ptr.To(dd.URL)}, {Name: "service", Value: ptr.To("web")}},
				func() []string {
					var asked []string
					for _, r := range dd.Requests() {
						asked = append(asked, r.Query)
					}
					return asked
				}
		}},
	{name: "New Relic", template: "success-rate-newrelic", secret: "newrelic", secretData: map[string]string{"api-key": "NRAK-1"},
		serve: func(t *testing.T, bad func(string) bool) ([]rampv1.Argument, func() []string) {
			nr := newrelic.New("NRAK-1", 4242)
			t.Cleanup(nr.Close)
			nr.Answer(func(nrql string) []map[string]any {
				if bad(nrql) {
					return []map[string]any{{"errorRate": 0.2}}
				}
				return []map[string]any{{"errorRate": 0.001}}
			})
			return []rampv1.Argument{{Name: "newrelic", Value: ptr.To(nr.URL + "/graphql")}, {Name: "app", Value: ptr.To("web")},
				{Name: "accountID", Value: ptr.To("4242")}}, nr.Requests
		}},
}

// TestHostedProvidersRollBack: each hosted provider's built-in template,
// with its keys from the Rollout's namespace, against the provider's fake:
// a version whose error rate is low is promoted, the next one, failing a
// fifth of its requests, rolled back.
func TestHostedProvidersRollBack(t *testing.T) {
	t.Parallel()
	for _, p := range hostedProviders {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			e := fixture.New(t)
			e.StartController()
			e.Apply("config/analysis/templates.yaml")
			e.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: p.secret, Namespace: e.NS}, StringData: p.secretData})
			var good atomic.Value // once set, the one revision whose queries answer a low error rate
			good.Store("")
			args, asked := p.serve(t, func(q string) bool {
				rev := good.Load().(string)
				return rev != "" && !strings.Contains(q, rev)
			})
			step := rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: p.template, ClusterScope: true}}, Args: args}
			ro := promoteThenFail(t, e, step, func(promoted *rampv1.Rollout) { good.Store(promoted.Status.StableRevision) }, "error-rate")
			if q := asked(); len(q) != 2 || !strings.Contains(q[1], ro.Status.Abort.Revision) {
				t.Errorf("the service was asked %q, want one query per release, the last for the canary's revision", q)
			}
		})
	}
}

// TestGraphiteRollsBack: a real Graphite render API (VictoriaMetrics')
// holds what each version's pods report, every second, as
// web.<revision>.errors and .requests; a template reads the canary's
// error rate. A version that fails one request in a thousand is promoted,
// the next one, failing a fifth, rolled back.
func TestGraphiteRollsBack(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	srv, err := graphite.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "error-rate", Interval: &metav1.Duration{Duration: 10 * time.Second},
			// Until the canary's pods have reported, there is no data.
			InconclusiveLimit: ptr.To[int32](5), SuccessCondition: "result <= 0.01",
			Provider: rampv1.MetricProvider{Graphite: &rampv1.GraphiteMetric{Address: srv.URL,
				Target: "divideSeries(web.{{.CanaryRevision}}.errors, web.{{.CanaryRevision}}.requests)"}}}},
	}})
	var failFrom atomic.Int32
	failFrom.Store(math.MaxInt32)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errorRates(ctx, e, &failFrom, func(rates map[string]float64) {
		var points []graphite.Point
		now := time.Now()
		for rev, rate := range rates {
			points = append(points, graphite.Point{Path: "web." + rev + ".errors", Value: 1000 * rate, At: now},
				graphite.Point{Path: "web." + rev + ".requests", Value: 1000, At: now})
		}
		_ = srv.Push(ctx, points...)
	})
	step := rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}
	promoteThenFail(t, e, step, func(*rampv1.Rollout) { failFrom.Store(3) }, "error-rate")
}

// TestJobMetricRollsBack: a metric measured by a Job in the cluster, as
// an analysis step: passing, the version is promoted; failing (kwok ends
// the pod with the exit code annotated), the next one is rolled back, the
// Job kept for its logs.
func TestJobMetricRollsBack(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	tmpl := &rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "smoke", Provider: rampv1.MetricProvider{Job: &rampv1.JobHook{
			Container: corev1.Container{Name: "smoke", Image: "tests:v1", Args: []string{"$(RAMP_CANARY_SERVICE)"}}}}}},
	}}
	e.Create(tmpl)
	step := rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "smoke"}}}
	ro := promoteThenFail(t, e, step, func(*rampv1.Rollout) {
		tmpl.Spec.Metrics[0].Provider.Job.Annotations = map[string]string{localcluster.ExitCodeAnnotation: "1"}
		if err := e.C.Update(context.Background(), tmpl); err != nil {
			t.Fatal(err)
		}
	}, `"succeeded":false`)
	var jobs batchv1.JobList
	if err := e.C.List(context.Background(), &jobs, client.InNamespace(e.NS)); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 || !strings.Contains(ro.Status.Abort.Message, jobs.Items[0].Name) {
		t.Errorf("Jobs left: %d, want the failed one, named in %q", len(jobs.Items), ro.Status.Abort.Message)
	}
}

// TestCloudWatchRollsBack: a template of CloudWatch queries (the app's
// errors and requests by revision, and their ratio) run through the real
// AWS SDK, with credentials from the controller's environment, against
// the fake CloudWatch: a good version is promoted, a bad one rolled back.
func TestCloudWatchRollsBack(t *testing.T) {
	t.Parallel()
	// The SDK's default chain finds these in the controller's (this
	// process's) environment, and never asks the instance metadata
	// service.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDE2E", "AWS_SECRET_ACCESS_KEY": "s3cret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		if err := os.Setenv(k, v); err != nil {
			t.Fatal(err)
		}
	}
	e := fixture.New(t)
	e.StartController()
	cw := cloudwatch.New("AKIDE2E")
	t.Cleanup(cw.Close)
	var good atomic.Value // once set, the one revision that does not fail
	good.Store("")
	cw.Answer(func(_ string, req cloudwatch.Request) []cloudwatch.Point {
		v := 0.001
		if rev := good.Load().(string); rev != "" && !strings.Contains(strings.Join(req.Queries, ";"), "="+rev+":") {
			v = 0.2
		}
		return []cloudwatch.Point{{At: req.End.Add(-10 * time.Second), Value: v}}
	})
	stat := func(name string) *rampv1.CloudWatchMetricStat {
		return &rampv1.CloudWatchMetricStat{Namespace: "Shop", MetricName: name, Stat: "Sum",
			Dimensions: []rampv1.CloudWatchDimension{{Name: "Revision", Value: "{{.CanaryRevision}}"}}}
	}
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "error-rate", Interval: &metav1.Duration{Duration: time.Minute}, SuccessCondition: "result <= 0.01",
			Provider: rampv1.MetricProvider{CloudWatch: &rampv1.CloudWatchMetric{Region: "eu-west-1", Address: cw.URL, Queries: []rampv1.CloudWatchQuery{
				{ID: "errors", MetricStat: stat("Errors"), ReturnData: ptr.To(false)},
				{ID: "requests", MetricStat: stat("Requests"), ReturnData: ptr.To(false)},
				{ID: "rate", Expression: "errors / requests"},
			}}}}},
	}})
	step := rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}
	ro := promoteThenFail(t, e, step, func(promoted *rampv1.Rollout) { good.Store(promoted.Status.StableRevision) }, "error-rate")
	reqs := cw.Requests()
	if last := reqs[len(reqs)-1]; !strings.Contains(strings.Join(last.Queries, ";"), "Shop/Errors/Revision="+ro.Status.Abort.Revision+":Sum") {
		t.Errorf("the last call asked %q, want the canary's revision", last.Queries)
	}
}

// TestInfluxDBRollsBack: a real InfluxDB (influxd 1.8) holds what each
// version's pods report every second (errors,revision=<revision> rate=...);
// a Flux query reads the canary's. A version failing one request in a
// thousand is promoted, the next one, failing a fifth, rolled back.
func TestInfluxDBRollsBack(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := influxdb.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	if err := srv.CreateDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "error-rate", Interval: &metav1.Duration{Duration: 2 * time.Second},
			// Until the canary's pods have reported, there is no data.
			InconclusiveLimit: ptr.To[int32](5), SuccessCondition: "result <= 0.01",
			Provider: rampv1.MetricProvider{InfluxDB: &rampv1.InfluxDBMetric{Address: srv.URL,
				Flux: `from(bucket: "app/autogen") |> range(start: -10s) |> filter(fn: (r) => r._measurement == "errors" and r.revision == "{{.CanaryRevision}}") |> last()`}}}},
	}})
	var failFrom atomic.Int32
	failFrom.Store(math.MaxInt32)
	errorRates(ctx, e, &failFrom, func(rates map[string]float64) {
		var lines []string
		for rev, rate := range rates {
			lines = append(lines, fmt.Sprintf("errors,revision=%s rate=%g %d", rev, rate, time.Now().UnixNano()))
		}
		_ = srv.Write(ctx, "app", lines...)
	})
	step := rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}
	promoteThenFail(t, e, step, func(*rampv1.Rollout) { failFrom.Store(3) }, "error-rate")
}

// promoteThenFail takes Rollout web, whose canary steps are 25% and the
// analysis step, through a release that passes (v2, promoted), then one
// that fails (v3, rolled back); failing runs between the two, so that the
// provider's answers turn bad for v3. It checks the rollback was the
// analysis's, its message containing want, and returns the Rollout.
func promoteThenFail(t *testing.T, e *fixture.Env, step rampv1.AnalysisStep, failing func(promoted *rampv1.Rollout), want string) *rampv1.Rollout {
	t.Helper()
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), rampv1.Step{Analysis: &step}))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	failing(e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait))
	e.SetImage("web", "web:v3")
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: fixture.AnyStep, Replicas: "1:0 2:4 3:0"}, fixture.Wait)
	if a := ro.Status.Abort; a == nil || a.Reason != "AnalysisFailed" || !strings.Contains(a.Message, want) {
		t.Fatalf("rolled back with %+v, want the analysis failed, with %q", a, want)
	}
	return ro
}

// errorRates stands in for the pods of Rollout web reporting their error
// rate to a metrics store: every second until ctx ends, write gets each
// revision's rate, 0.001, or 0.2 from the revision numbered *failFrom on.
func errorRates(ctx context.Context, e *fixture.Env, failFrom *atomic.Int32, write func(rates map[string]float64)) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			rss, err := e.ReplicaSets(ctx, "web")
			if err != nil {
				continue
			}
			rates := map[string]float64{}
			for i, rs := range rss {
				rates[rs.Labels[rampv1.LabelRevision]] = 0.001
				if int32(i+1) >= failFrom.Load() {
					rates[rs.Labels[rampv1.LabelRevision]] = 0.2
				}
			}
			write(rates)
		}
	}()
}
