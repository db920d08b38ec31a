package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/admission"
	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/test/clirun"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// badInput is a mistake the CRDs' schemas let through. objects are
// created first; change turns the Rollout's template to v2 with the
// mistake. field is what every refusal must name.
type badInput struct {
	name    string
	objects func(ns string) []client.Object
	change  func(*rampv1.Rollout)
	field   string
	// refused: admission refuses the first object (the template); false,
	// the Rollout; warned: admission only warns (the mistake lies in what
	// the Rollout names, which GitOps may apply later).
	refusesObject, warned bool
}

func badInputs() []badInput {
	step := func(s rampv1.Step) func(*rampv1.Rollout) {
		return func(ro *rampv1.Rollout) { ro.Spec.Strategy.Canary.Steps[1] = s }
	}
	analysis := func(name string) func(*rampv1.Rollout) {
		return step(rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: name}}}})
	}
	template := func(name string, m rampv1.Metric, args ...rampv1.Argument) func(string) []client.Object {
		return func(ns string) []client.Object {
			return []client.Object{&rampv1.AnalysisTemplate{
				TypeMeta:   metav1.TypeMeta{APIVersion: rampv1.GroupVersion.String(), Kind: "AnalysisTemplate"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec:       rampv1.AnalysisTemplateSpec{Args: args, Metrics: []rampv1.Metric{m}},
			}}
		}
	}
	web := rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: "http://127.0.0.1:1/rate", JSONPath: "{.rate}"}}
	return []badInput{{
		name:   "selector misses the pod labels",
		change: func(ro *rampv1.Rollout) { ro.Spec.Template.Labels = map[string]string{"app": "other"} },
		field:  "spec.template.metadata.labels",
	}, {
		name:   "webhook URL names no value",
		change: step(rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://127.0.0.1:1/check?rev={{.Canary}}"}}),
		field:  "spec.strategy.canary.steps[1].webhook.url",
	}, {
		name:   "webhook body does not parse",
		change: step(rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://127.0.0.1:1/check", Body: `{"rev": "{{ .CanaryRevision "}`}}),
		field:  "spec.strategy.canary.steps[1].webhook.body",
	}, {
		name: "notification URL does not parse",
		change: func(ro *rampv1.Rollout) {
			ro.Spec.Strategy.Canary.Notifications = &rampv1.Notifications{URL: "http://127.0.0.1:1/{{.Phase"}
		},
		field: "spec.strategy.canary.notifications.url",
	}, {
		name:          "condition that is not CEL",
		objects:       template("not-cel", rampv1.Metric{Name: "rate", SuccessCondition: "result <=", Provider: web}),
		change:        analysis("not-cel"),
		field:         "spec.metrics[0].successCondition",
		refusesObject: true,
	}, {
		name: "query template that does not parse",
		objects: template("bad-query", rampv1.Metric{Name: "rate", SuccessCondition: "result < 1",
			Provider: rampv1.MetricProvider{Prometheus: &rampv1.PrometheusMetric{Address: "http://127.0.0.1:1", Query: "rate({{ .args.x"}}}),
		change:        analysis("bad-query"),
		field:         "spec.metrics[0].provider.prometheus.query",
		refusesObject: true,
	}, {
		name:   "template that does not exist",
		change: analysis("nope"),
		field:  "spec.strategy.canary.steps[1].analysis.templates[0].templateName",
		warned: true,
	}, {
		name:    "argument without a value",
		objects: template("needs-arg", rampv1.Metric{Name: "rate", SuccessCondition: "result < 1", Provider: web}, rampv1.Argument{Name: "service"}),
		change:  analysis("needs-arg"),
		field:   "spec.strategy.canary.steps[1].analysis.args",
		warned:  true,
	}, {
		name: "Secret that does not exist",
		change: step(rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://127.0.0.1:1/check", Headers: []rampv1.Header{
			{Name: "Authorization", ValueFrom: &rampv1.SecretKeyRef{Name: "nope", Key: "token"}}}}}),
		field:  "spec.strategy.canary.steps[1].webhook.headers[0].valueFrom.name",
		warned: true,
	}}
}

// rolloutFor is case i's Rollout at v1: a pod-ratio canary whose second
// step the case replaces.
func rolloutFor(e *fixture.Env, i int) *rampv1.Rollout {
	ro := e.Rollout(fmt.Sprintf("web-%d", i), "web:v1", fixture.SetWeight(25), fixture.Pause(0), fixture.Pause(0))
	ro.TypeMeta = metav1.TypeMeta{APIVersion: rampv1.GroupVersion.String(), Kind: "Rollout"}
	return ro
}

// TestBadInputRefused runs every bad input through the admission webhook
// (refused, or warned of, naming the field), through `ramp lint` (the
// same), and, with no webhook, through the controller's preflight: the
// canary waits with no pod and no traffic, its condition naming the field.
func TestBadInputRefused(t *testing.T) {
	t.Parallel()
	cases := badInputs()

	t.Run("admission", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		addr := freeLoopbackAddr(t)
		cfgName := "ramp-admission-" + e.NS
		e.StartControllerWith(func(o *manager.Options) {
			o.Admission = &admission.Options{Addr: addr, Secret: types.NamespacedName{Namespace: e.NS, Name: "ramp-admission-tls"},
				Names: []string{"127.0.0.1"}, Configuration: cfgName}
		})
		e.InstallAdmission(cfgName, addr)
		warnings := &warningLog{}
		cfg := clustertest.Config(t)
		cfg.WarningHandlerWithContext = warnings
		c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i, bad := range cases {
			e.Create(rolloutFor(e, i))
			var objs []client.Object
			if bad.objects != nil {
				objs = bad.objects(e.NS)
			}
			for j, obj := range objs {
				err := c.Create(ctx, obj)
				switch {
				case j == 0 && bad.refusesObject && (err == nil || !strings.Contains(err.Error(), bad.field)):
					t.Errorf("%s: admission let %s through or did not name %s: %v", bad.name, obj.GetName(), bad.field, err)
				case !(j == 0 && bad.refusesObject) && err != nil:
					t.Fatalf("%s: %v", bad.name, err)
				}
			}
			if bad.refusesObject {
				continue
			}
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error { // the controller writes its finalizer
				ro := &rampv1.Rollout{}
				if err := c.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: fmt.Sprintf("web-%d", i)}, ro); err != nil {
					return err
				}
				ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
				bad.change(ro)
				warnings.reset()
				return c.Update(ctx, ro)
			})
			switch {
			case bad.warned && err != nil:
				t.Errorf("%s: refused; want a warning only (what it names may come later): %v", bad.name, err)
			case bad.warned && !warnings.has(bad.field):
				t.Errorf("%s: no warning names %s; warnings %q", bad.name, bad.field, warnings.all())
			case !bad.warned && (err == nil || !strings.Contains(err.Error(), bad.field)):
				t.Errorf("%s: admission let it through or did not name %s: %v", bad.name, bad.field, err)
			}
		}
	})

	t.Run("lint", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		dir := t.TempDir()
		for i, bad := range cases {
			ro := rolloutFor(e, i)
			ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
			bad.change(ro)
			var docs []string
			if bad.objects != nil {
				for _, obj := range bad.objects(e.NS) {
					docs = append(docs, toYAML(t, obj))
				}
			}
			docs = append(docs, toYAML(t, ro))
			file := filepath.Join(dir, fmt.Sprintf("case-%d.yaml", i))
			if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"lint", "-f", file}
			if bad.warned {
				// What a Rollout names is resolved against the cluster.
				args = append([]string{"--kubeconfig", clustertest.Kubeconfig(t), "-n", e.NS}, append(args, "--cluster")...)
			}
			out, err := clirun.Run(args...)
			if err == nil || !strings.Contains(out, bad.field) {
				t.Errorf("%s: ramp %s: %v; want a problem naming %s:\n%s", bad.name, strings.Join(args, " "), err, bad.field, out)
			}
		}
	})

	t.Run("preflight without admission", func(t *testing.T) {
		t.Parallel()
		e := fixture.New(t)
		e.StartController()
		for i, bad := range cases {
			if bad.objects != nil {
				for _, obj := range bad.objects(e.NS) {
					e.Create(obj)
				}
			}
			e.Create(rolloutFor(e, i))
		}
		for i := range cases {
			e.WaitFor(fmt.Sprintf("web-%d", i), fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
		}
		for i, bad := range cases {
			e.Update(fmt.Sprintf("web-%d", i), func(ro *rampv1.Rollout) {
				ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
				bad.change(ro)
			})
		}
		for i, bad := range cases {
			name := fmt.Sprintf("web-%d", i)
			clustertest.Eventually(t, fixture.Wait, bad.name+": the preflight to hold "+name, func(ctx context.Context) (bool, string) {
				state, ro, err := e.Observe(ctx, name)
				if err != nil {
					return false, err.Error()
				}
				c := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionDegraded)
				held := c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, bad.field)
				if held && (!slices.Contains([]string{"1:4", "1:4 2:0"}, state.Replicas) || ro.Status.Weight.Reached != 0) {
					t.Errorf("%s: held with replicas %s and weight %v; want no canary pod and no traffic", bad.name, state.Replicas, ro.Status.Weight)
				}
				return held, fmt.Sprintf("%s: %s", state, ro.Status.Message)
			})
		}
	})
}

func toYAML(t *testing.T, obj any) string {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// warningLog keeps the warnings the API server sends.
type warningLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningLog) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningLog) reset() { w.mu.Lock(); w.msgs = nil; w.mu.Unlock() }

func (w *warningLog) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

func (w *warningLog) has(s string) bool {
	return slices.ContainsFunc(w.all(), func(m string) bool { return strings.Contains(m, s) })
}
