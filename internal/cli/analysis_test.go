package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestAnalysisTry measures templates once from the command line against a
// metrics server on loopback that wants a key from a Secret: from the
// cluster and from a file, with arguments, a Rollout's context and one
// metric picked; and says what is wrong with what it cannot measure.
func TestAnalysisTry(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RawQuery)
		mu.Unlock()
		if r.Header.Get("X-Api-Key") != "k3y" {
			http.Error(w, `{"errors": ["bad key"]}`, http.StatusForbidden)
			return
		}
		rate := map[string]string{"web": "0.004", "api": "0.2"}[r.URL.Query().Get("service")]
		fmt.Fprintf(w, `{"rate": %q}`, rate)
	}))
	defer srv.Close()
	e.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "metrics", Namespace: e.NS}, StringData: map[string]string{"key": "k3y"}})
	metric := func(name, query string) rampv1.Metric {
		return rampv1.Metric{Name: name, SuccessCondition: "result <= 0.01", Provider: rampv1.MetricProvider{Web: &rampv1.WebMetric{
			URL: srv.URL + "/?" + query, JSONPath: "{.rate}",
			Headers: []rampv1.Header{{Name: "X-Api-Key", ValueFrom: &rampv1.SecretKeyRef{Name: "metrics", Key: "key"}}},
		}}}
	}
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Args: []rampv1.Argument{{Name: "service", Value: ptr.To("web")}, {Name: "team"}},
		Metrics: []rampv1.Metric{
			metric("error-rate", "service={{.Args.service}}&team={{.Args.team}}"),
			metric("context", "service=web&rollout={{.Rollout}}&canary={{.CanaryRevision}}&svc={{.CanaryService}}"),
		},
	}})
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(50)))
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	out, err := ramp(t, e, "analysis", "try", "errors", "--arg", "team=a&b", "--rollout", "web")
	if err != nil || strings.Count(out, "Successful") != 2 || !strings.Contains(out, "0.004") || strings.Contains(out, "k3y") {
		t.Errorf("try errors: %v\n%s", err, out)
	}
	mu.Lock()
	got := seen
	mu.Unlock()
	// At rest the canary is the stable revision; pod ratio without
	// spec.service names no Service.
	for _, want := range []string{"service=web&team=a%26b", "service=web&rollout=web&canary=" + ro.Status.StableRevision + "&svc="} {
		if !slices.Contains(got, want) {
			t.Errorf("the server saw\n%s\nwant a query with %s", got, want)
		}
	}

	out, err = ramp(t, e, "analysis", "try", "errors", "--arg", "team=a", "--arg", "service=api", "--metric", "error-rate")
	if err == nil || err.Error() != "1 of 1 metrics did not pass" || !strings.Contains(out, "0.2") || !strings.Contains(out, "Failed") {
		t.Errorf("try a failing metric: %v\n%s", err, out)
	}

	file := filepath.Join(t.TempDir(), "template.yaml")
	doc := fmt.Sprintf(`apiVersion: ramp.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: local}
spec:
  metrics:
  - name: no-key
    successCondition: result < 1
    provider:
      web: {url: %q, jsonPath: "{.rate}"}
`, srv.URL+"/?service=web")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = ramp(t, e, "analysis", "try", "-f", file)
	if err == nil || !strings.Contains(out, "no-key") || !strings.Contains(out, "Error") || !strings.Contains(out, "403 Forbidden") {
		t.Errorf("try -f without the key: %v\n%s", err, out)
	}

	// Every provider measures through the same command: Datadog (its
	// fake, following the published API) with keys from a Secret.
	dd := datadog.New("dd-api", "dd-app")
	defer dd.Close()
	dd.Set("sum:errors{service:web}", datadog.Value(0.003))
	e.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "datadog", Namespace: e.NS}, StringData: map[string]string{"api": "dd-api", "app": "dd-app"}})
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "dd", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "dd-errors", SuccessCondition: "result <= 0.01", Provider: rampv1.MetricProvider{Datadog: &rampv1.DatadogMetric{
			Address: dd.URL, Query: "sum:errors{service:{{.Args.service}}}", APIKey: rampv1.SecretKeyRef{Name: "datadog", Key: "api"},
			ApplicationKey: rampv1.SecretKeyRef{Name: "datadog", Key: "app"}}}}},
		Args: []rampv1.Argument{{Name: "service", Value: ptr.To("web")}},
	}})
	if out, err := ramp(t, e, "analysis", "try", "dd"); err != nil || !strings.Contains(out, "datadog") || !strings.Contains(out, "0.003") || strings.Contains(out, "dd-ap") {
		t.Errorf("try dd: %v\n%s", err, out)
	}

	nr := newrelic.New("NRAK-1", 7)
	defer nr.Close()
	nr.Set("SELECT count(*) FROM Transaction WHERE appName = 'web'", map[string]any{"count": 42.0})
	e.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "newrelic", Namespace: e.NS}, StringData: map[string]string{"key": "NRAK-1"}})
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "nr", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "nr-count", SuccessCondition: "result > 0.0", Provider: rampv1.MetricProvider{NewRelic: &rampv1.NewRelicMetric{
			Address: nr.URL + "/graphql", AccountID: "7", Query: "SELECT count(*) FROM Transaction WHERE appName = '{{.Args.app}}'",
			APIKey: rampv1.SecretKeyRef{Name: "newrelic", Key: "key"}}}}},
	}})
	if out, err := ramp(t, e, "analysis", "try", "nr", "--arg", "app=web"); err != nil || !strings.Contains(out, "newrelic") || !strings.Contains(out, "42") || strings.Contains(out, "NRAK-1") {
		t.Errorf("try nr: %v\n%s", err, out)
	}

	vm, err := graphite.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Stop()
	if err := vm.Push(context.Background(), graphite.Point{Path: "web.errors", Value: 7, At: time.Now().Add(-5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "graphite", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "g-errors", SuccessCondition: "result < 5.0", Interval: &metav1.Duration{Duration: time.Minute},
			Provider: rampv1.MetricProvider{Graphite: &rampv1.GraphiteMetric{Address: vm.URL, Target: "web.errors"}}}},
	}})
	if out, err := ramp(t, e, "analysis", "try", "graphite"); err == nil || !strings.Contains(out, "graphite") || !strings.Contains(out, "7") || !strings.Contains(out, "Failed") {
		t.Errorf("try graphite: %v\n%s", err, out)
	}

	// CloudWatch, through the AWS SDK's default chain: credentials from
	// the environment, never the instance metadata service.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDCLI", "AWS_SECRET_ACCESS_KEY": "s3cret", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		t.Setenv(k, v)
	}
	cw := cloudwatch.New("AKIDCLI")
	defer cw.Close()
	cw.Set("errors / 60", cloudwatch.Point{At: time.Now().Add(-time.Minute), Value: 0.5})
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "cw", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "cw-rate", SuccessCondition: "result < 1.0", Interval: &metav1.Duration{Duration: 5 * time.Minute},
			Provider: rampv1.MetricProvider{CloudWatch: &rampv1.CloudWatchMetric{Address: cw.URL, Queries: []rampv1.CloudWatchQuery{
				{ID: "rate", Expression: "errors / 60"}}}}}},
	}})
	if out, err := ramp(t, e, "analysis", "try", "cw"); err != nil || !strings.Contains(out, "cloudwatch") || !strings.Contains(out, "0.5") {
		t.Errorf("try cw: %v\n%s", err, out)
	}

	influx, err := influxdb.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer influx.Stop()
	if err := influx.CreateDatabase(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	if err := influx.Write(context.Background(), "app", fmt.Sprintf("errors rate=0.125 %d", time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "influx", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "influx-rate", SuccessCondition: "result < 1.0", Provider: rampv1.MetricProvider{InfluxDB: &rampv1.InfluxDBMetric{
			Address: influx.URL, Database: "app", InfluxQL: "SELECT last(rate) FROM errors"}}}},
	}})
	if out, err := ramp(t, e, "analysis", "try", "influx"); err != nil || !strings.Contains(out, "influxdb") || !strings.Contains(out, "0.125") {
		t.Errorf("try influx: %v\n%s", err, out)
	}

	// A job metric runs its Job in the namespace, and removes it.
	e.Create(&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: e.NS}, Spec: rampv1.AnalysisTemplateSpec{
		Metrics: []rampv1.Metric{{Name: "smoke", Provider: rampv1.MetricProvider{Job: &rampv1.JobHook{
			Container: corev1.Container{Name: "smoke", Image: "tests:v1"}}}}},
	}})
	if out, err := ramp(t, e, "analysis", "try", "smoke"); err != nil || !strings.Contains(out, "job") || !strings.Contains(out, `"succeeded":true`) {
		t.Errorf("try smoke: %v\n%s", err, out)
	}
	clustertest.Eventually(t, fixture.Wait, "the tried Job deleted", func(ctx context.Context) (bool, string) {
		var jobs batchv1.JobList
		if err := e.C.List(ctx, &jobs, client.InNamespace(e.NS)); err != nil {
			return false, err.Error()
		}
		for _, j := range jobs.Items {
			if j.DeletionTimestamp == nil {
				return false, "Job " + j.Name + " is still there"
			}
		}
		return true, ""
	})

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"errors"}, `argument "team" of analysis templates [errors] has no value: give it with --arg NAME=VALUE`},
		{[]string{"errors", "--arg", "team"}, `--arg "team": write NAME=VALUE`},
		{[]string{"errors", "--arg", "team=a", "--metric", "latency"}, `--metric "latency": the template has error-rate, context`},
		{[]string{"nope"}, `AnalysisTemplate "nope" not found`},
		{[]string{"errors", "--arg", "team=a", "--rollout", "nope"}, `Rollout "nope" not found`},
		{[]string{"-f", file, "other"}, `holds no analysis template named "other"`},
		{nil, "name a template, or give one with -f FILE"},
	} {
		if out, err := ramp(t, e, append([]string{"analysis", "try"}, tt.args...)...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("try %v: %v, want an error with %q\n%s", tt.args, err, tt.want, out)
		}
	}
}
