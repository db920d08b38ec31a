package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fakes/datadog"
	"github.com/rampcd/ramp/test/fixture"
)

// TestDatadogRollsBack: the built-in success-rate-datadog template, with
// the keys from the Rollout's namespace, against the fake Datadog API: a
// version whose APM error rate is low is promoted, the next one, failing
// a fifth of its requests, rolled back.
func TestDatadogRollsBack(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	e.Apply("config/analysis/templates.yaml")
	dd := datadog.New("api-key-1", "app-key-1")
	t.Cleanup(dd.Close)
	e.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "datadog", Namespace: e.NS},
		StringData: map[string]string{"api-key": "api-key-1", "app-key": "app-key-1"}})
	bad := func(string) bool { return false }
	dd.Answer(func(query string) datadog.Answer {
		if bad(query) {
			return datadog.Value(0.2)
		}
		return datadog.Value(0.001)
	})
	step := rampv1.AnalysisStep{
		Templates: []rampv1.TemplateRef{{TemplateName: "success-rate-datadog", ClusterScope: true}},
		Args:      []rampv1.Argument{{Name: "datadog", Value: ptr.To(dd.URL)}, {Name: "service", Value: ptr.To("web")}},
	}
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), rampv1.Step{Analysis: &step}))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	e.SetImage("web", "web:v2")
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
	good := "version:" + ro.Status.StableRevision + "}"
	bad = func(query string) bool { return !strings.Contains(query, good) }

	e.SetImage("web", "web:v3")
	ro = e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: fixture.AnyStep, Replicas: "1:0 2:4 3:0"}, fixture.Wait)
	if a := ro.Status.Abort; a == nil || a.Reason != "AnalysisFailed" || !strings.Contains(a.Message, "error-rate") {
		t.Fatalf("rolled back with %+v, want the analysis failed, naming the metric", a)
	}
	var asked []string
	for _, r := range dd.Requests() {
		asked = append(asked, r.Query)
	}
	if len(asked) != 2 || !strings.Contains(asked[1], "version:"+ro.Status.Abort.Revision+"}") || !strings.Contains(asked[1], "env:prod") {
		t.Errorf("Datadog was asked %q, want one query per release, the last for the canary's version", asked)
	}
}
