package validation

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/scheme"
)

func rollout(change func(*rampv1.Rollout)) *rampv1.Rollout {
	labels := map[string]string{"app": "web"}
	ro := &rampv1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: rampv1.RolloutSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}},
			Strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{Steps: []rampv1.Step{{SetWeight: ptr.To(rampv1.Percent(10))}}}},
		},
	}
	if change != nil {
		change(ro)
	}
	return ro
}

// only reports the fields of errs, or "" for none.
func only(errs field.ErrorList) string {
	fields := make([]string, len(errs))
	for i, e := range errs {
		fields[i] = e.Field
	}
	return strings.Join(fields, ",")
}

func TestRollout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*rampv1.Rollout)
		want   string
	}{
		{name: "valid"},
		{name: "selector misses the labels", want: "spec.template.metadata.labels",
			change: func(ro *rampv1.Rollout) { ro.Spec.Template.Labels = map[string]string{"app": "api"} }},
		{name: "empty selector", want: "spec.selector.matchLabels",
			change: func(ro *rampv1.Rollout) { ro.Spec.Selector = &metav1.LabelSelector{} }},
		{name: "adopted workload: labels checked on the Deployment",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Template, ro.Spec.WorkloadRef = nil, &rampv1.WorkloadRef{Name: "web"}
			}},
		{name: "webhook URL with an unknown value", want: "spec.strategy.canary.steps[0].webhook.url",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Strategy.Canary.Steps[0] = rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://t/{{.Revision}}"}}
			}},
		{name: "webhook with known values", change: func(ro *rampv1.Rollout) {
			ro.Spec.Strategy.Canary.Steps[0] = rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://t/{{.CanaryRevision}}", Body: `{"w": "{{.Weight}}"}`}}
		}},
		{name: "lifecycle hook body that does not parse", want: "spec.strategy.canary.hooks[0].webhook.body",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Strategy.Canary.Hooks = []rampv1.LifecycleHook{{On: rampv1.BeforeCanary, Webhook: &rampv1.WebhookHook{URL: "http://t", Body: "{{"}}}
			}},
		{name: "blue/green notification", want: "spec.strategy.blueGreen.notifications.url",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Strategy = rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{ActiveService: "web",
					Notifications: &rampv1.Notifications{URL: "http://t/{{.Nope}}"}}}
			}},
		{name: "blue/green prePromotion webhook", want: "spec.strategy.blueGreen.prePromotion[0].webhook.url",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Strategy = rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{ActiveService: "web",
					PrePromotion: []rampv1.Step{{Webhook: &rampv1.WebhookHook{URL: "{{ if }}"}}}}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := only(Rollout(rollout(tc.change))); got != tc.want {
				t.Errorf("errors at %q, want %q: %v", got, tc.want, Rollout(rollout(tc.change)))
			}
		})
	}
}

func TestResolve(t *testing.T) {
	metric := rampv1.Metric{Name: "rate", SuccessCondition: "result < 1", Provider: rampv1.MetricProvider{
		Web: &rampv1.WebMetric{URL: "http://m", JSONPath: "{.x}", Headers: []rampv1.Header{{Name: "A", ValueFrom: &rampv1.SecretKeyRef{Name: "token", Key: "t"}}}}}}
	objects := []client.Object{
		&rampv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "rate", Namespace: "shop"},
			Spec: rampv1.AnalysisTemplateSpec{Args: []rampv1.Argument{{Name: "service"}}, Metrics: []rampv1.Metric{metric}}},
		&rampv1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "broken"},
			Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{Name: "x", SuccessCondition: "result <", Provider: metric.Provider}}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: "shop"}, Data: map[string][]byte{"t": []byte("s")}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}}}}},
	}
	step := func(args []rampv1.Argument, refs ...rampv1.TemplateRef) func(*rampv1.Rollout) {
		return func(ro *rampv1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: refs, Args: args}})
		}
	}
	service := []rampv1.Argument{{Name: "service", Value: ptr.To("web")}}
	for _, tc := range []struct {
		name   string
		change func(*rampv1.Rollout)
		want   string
	}{
		{name: "all found", change: step(service, rampv1.TemplateRef{TemplateName: "rate"})},
		{name: "missing template", want: "spec.strategy.canary.steps[1].analysis.templates[0].templateName",
			change: step(nil, rampv1.TemplateRef{TemplateName: "nope"})},
		{name: "argument without a value", want: "spec.strategy.canary.steps[1].analysis.args",
			change: step(nil, rampv1.TemplateRef{TemplateName: "rate"})},
		{name: "invalid cluster template", want: "spec.strategy.canary.steps[1].analysis.templates[0].templateName",
			change: step(nil, rampv1.TemplateRef{TemplateName: "broken", ClusterScope: true})},
		{name: "background analysis", want: "spec.strategy.canary.analysis.templates[0].templateName",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Strategy.Canary.Analysis = &rampv1.BackgroundAnalysis{AnalysisStep: rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "nope"}}}}
			}},
		{name: "Secret missing", want: "spec.strategy.canary.steps[0].webhook.headers[0].valueFrom.name",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Strategy.Canary.Steps[0] = rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://t",
					Headers: []rampv1.Header{{Name: "A", ValueFrom: &rampv1.SecretKeyRef{Name: "gone", Key: "t"}}}}}
			}},
		{name: "Secret key missing", want: "spec.strategy.canary.steps[0].webhook.tls.caSecret.key",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Strategy.Canary.Steps[0] = rampv1.Step{Webhook: &rampv1.WebhookHook{URL: "http://t",
					TLS: &rampv1.TLSConfig{CASecret: &rampv1.SecretKeyRef{Name: "token", Key: "ca"}}}}
			}},
		{name: "adopted Deployment the selector misses", want: "Deployment api.spec.template.metadata.labels",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Template, ro.Spec.WorkloadRef = nil, &rampv1.WorkloadRef{Name: "api"}
			}},
		{name: "adopted Deployment missing", want: "spec.workloadRef.name",
			change: func(ro *rampv1.Rollout) {
				ro.Spec.Template, ro.Spec.WorkloadRef = nil, &rampv1.WorkloadRef{Name: "gone"}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objects...).Build()
			errs, err := Resolve(context.Background(), c, rollout(tc.change))
			if err != nil {
				t.Fatal(err)
			}
			if got := only(errs); got != tc.want {
				t.Errorf("errors at %q, want %q: %v", got, tc.want, errs)
			}
		})
	}
}
