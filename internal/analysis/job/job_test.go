package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// TestMeasure runs the Jobs of measurements on the local cluster, where
// kwok ends a Job's pod with the exit code a test annotates: the first ask
// starts the Job, owned by the run; later asks see it running, then read
// its outcome. Once the run records the measurement, a passed Job is
// deleted, a failed one kept for its logs.
func TestMeasure(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := &rampv1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "web-abc-1-step-2", Namespace: ns, Labels: map[string]string{rampv1.LabelRollout: "web"}},
		Spec: rampv1.AnalysisRunSpec{Metrics: []rampv1.Metric{{Name: "smoke", Provider: rampv1.MetricProvider{Job: &rampv1.JobHook{
			Container: corev1.Container{Name: "smoke", Image: "tests:v1"}}}}}}}
	if err := c.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	vars := analysis.Vars{Namespace: ns, Rollout: "web", CanaryRevision: "abc", CanaryService: "web-canary"}
	for _, tt := range []struct {
		name      string
		exitCode  string
		succeeded bool
		kept      bool
	}{
		{name: "passes", succeeded: true},
		{name: "fails", exitCode: "3", kept: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &rampv1.Metric{Name: "smoke-" + tt.name, Provider: rampv1.MetricProvider{Job: &rampv1.JobHook{
				Container: corev1.Container{Name: "smoke", Image: "tests:v1", Args: []string{"$(RAMP_CANARY_SERVICE)"}},
			}}}
			if tt.exitCode != "" {
				m.Provider.Job.Annotations = map[string]string{localcluster.ExitCodeAnnotation: tt.exitCode}
			}
			p := Provider{Client: c, Run: run}
			_, err := p.Measure(ctx, m, vars)
			if !errors.Is(err, analysis.ErrPending) || !strings.Contains(err.Error(), "started") {
				t.Fatalf("first ask: %v, want the Job started", err)
			}
			name := Name(run.Name, m.Name, 1)
			job := &batchv1.Job{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job); err != nil {
				t.Fatal(err)
			}
			if owner := metav1.GetControllerOf(job); owner == nil || owner.Kind != "AnalysisRun" || owner.Name != run.Name ||
				job.Labels[LabelRun] != run.Name || job.Labels[rampv1.LabelRollout] != "web" {
				t.Errorf("Job %s: owner %v, labels %v", name, owner, job.Labels)
			}
			env := job.Spec.Template.Spec.Containers[0].Env
			if !containsEnv(env, "RAMP_CANARY_SERVICE", "web-canary") || !containsEnv(env, "RAMP_CANARY_REVISION", "abc") {
				t.Errorf("Job env: %v", env)
			}
			var got analysis.Result
			clustertest.Eventually(t, time.Minute, "the Job's outcome", func(ctx context.Context) (bool, string) {
				got, err = p.Measure(ctx, m, vars)
				if errors.Is(err, analysis.ErrPending) {
					return false, err.Error()
				}
				return true, ""
			})
			out, _ := got.(map[string]any)
			if err != nil || out["succeeded"] != tt.succeeded || out["job"] != name {
				t.Fatalf("outcome %v, %v; want succeeded %v", got, err, tt.succeeded)
			}
			// Not recorded yet: the Job stays.
			if err := p.Cleanup(ctx, m); err != nil {
				t.Fatal(err)
			}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job); err != nil || job.DeletionTimestamp != nil {
				t.Fatalf("the Job of a measurement not recorded yet: %v, %v", err, job.DeletionTimestamp)
			}
			recorded := run.DeepCopy()
			recorded.Status.MetricResults = []rampv1.MetricResult{{Name: m.Name, Count: 1}}
			if err := (Provider{Client: c, Run: recorded}).Cleanup(ctx, m); err != nil {
				t.Fatal(err)
			}
			err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job)
			if kept := err == nil && job.DeletionTimestamp == nil; kept != tt.kept {
				t.Errorf("Job kept: %v (%v), want %v", kept, err, tt.kept)
			}
		})
	}

	t.Run("stopped while it runs", func(t *testing.T) {
		m := &rampv1.Metric{Name: "stopped", Provider: rampv1.MetricProvider{Job: &rampv1.JobHook{
			Container: corev1.Container{Name: "smoke", Image: "tests:v1"}}}}
		p := Provider{Client: c, Run: run}
		if _, err := p.Measure(ctx, m, vars); !errors.Is(err, analysis.ErrPending) {
			t.Fatalf("first ask: %v, want the Job started", err)
		}
		if err := p.Stop(ctx, m); err != nil {
			t.Fatal(err)
		}
		name := Name(run.Name, m.Name, 1)
		clustertest.Eventually(t, time.Minute, "the Job deleted", func(ctx context.Context) (bool, string) {
			job := &batchv1.Job{}
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job)
			return apierrors.IsNotFound(err) || job.DeletionTimestamp != nil, fmt.Sprint(err)
		})
	})

	t.Run("outside a run", func(t *testing.T) {
		m := &rampv1.Metric{Name: "try", Provider: rampv1.MetricProvider{Job: &rampv1.JobHook{
			Container: corev1.Container{Name: "smoke", Image: "tests:v1"}}}}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		got, err := Provider{Client: c}.Measure(ctx, m, analysis.Vars{Namespace: ns})
		out, _ := got.(map[string]any)
		if err != nil || out["succeeded"] != true || !strings.HasPrefix(out["job"].(string), "ramp-try-try-") {
			t.Fatalf("outcome %v, %v", got, err)
		}
		clustertest.Eventually(t, time.Minute, "the Job deleted", func(ctx context.Context) (bool, string) {
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: out["job"].(string)}, &batchv1.Job{})
			return apierrors.IsNotFound(err), "still there"
		})
	})
}

func containsEnv(env []corev1.EnvVar, name, value string) bool {
	for _, e := range env {
		if e.Name == name && e.Value == value {
			return true
		}
	}
	return false
}

func TestName(t *testing.T) {
	long := strings.Repeat("r", 60)
	tests := []struct {
		run, metric string
		n           int32
		want        string
	}{
		{"web-abc-1-step-2", "smoke", 1, "web-abc-1-step-2-smoke-1"},
		{long, "smoke", 12, ""},
	}
	for _, tt := range tests {
		got := Name(tt.run, tt.metric, tt.n)
		if tt.want != "" && got != tt.want {
			t.Errorf("Name(%s, %s, %d) = %s, want %s", tt.run, tt.metric, tt.n, got, tt.want)
		}
		if len(got) > 63 || !strings.HasSuffix(got, "-12") && tt.n == 12 {
			t.Errorf("Name(%s, %s, %d) = %s: over 63 characters or without its number", tt.run, tt.metric, tt.n, got)
		}
	}
	if Name(long, "a", 1) == Name(long, "b", 1) {
		t.Error("two metrics' Jobs share a name once cut")
	}
	if v := labelValue(long + "-background"); len(v) > 63 || v == labelValue(long+"-step-2") {
		t.Errorf("labelValue of a long run name: %s (%d characters), or the same for two runs", v, len(v))
	}
}
