package deployfile

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// blueGreenFile deploys web to prod with blue/green: its Services named in
// a kubernetes traffic management entry, checks before the redirect and
// before the old version shuts down.
var blueGreenFile = strings.NewReplacer(
	"    strategy: canary\n    constraints: {dependsOn: [staging]}", "    strategy: bg\n    constraints: {dependsOn: [staging]}",
	"strategies:\n", `strategies:
  bg:
    blueGreen:
      redirectTrafficAfter:
      - runWebhook: {name: smoke, context: {suite: preview}}
      - pause: {untilApproved: true}
      shutDownOldVersionAfter:
      - pause: {duration: 10, unit: minutes}
      - analysis:
          metricProviderName: prom
          context: {owner: team-a}
          interval: 1
          units: minutes
          numberOfJudgmentRuns: 2
          queries: [error-rate]
`,
	"  smi: [{rootServiceName: web, canaryServiceName: web-next, trafficSplitName: web-split}]",
	"  kubernetes: [{activeService: web, previewService: web-preview}]",
).Replace(base)

func TestTranslateBlueGreen(t *testing.T) {
	plan, err := translate(t, blueGreenFile)
	if err != nil {
		t.Fatal(err)
	}
	var ro rampv1.Rollout
	for _, o := range plan.Targets[1].Objects {
		if o.GetKind() == "Rollout" {
			decode(t, o.Object, &ro)
		}
	}
	bg := ro.Spec.Strategy.BlueGreen
	if bg == nil || len(ro.Spec.Strategy.Canary.Steps) != 0 {
		t.Fatalf("strategy %+v: want blue/green", ro.Spec.Strategy)
	}
	if bg.ActiveService != "web" || bg.PreviewService != "web-preview" || ptr.Deref(bg.AutoPromotionSeconds, -1) != 0 || ro.Spec.Service != "" {
		t.Errorf("blue/green %+v, service %q: want web and web-preview, redirected as soon as its steps passed", bg, ro.Spec.Service)
	}
	var got []string
	for _, s := range append(append([]rampv1.Step{}, bg.PrePromotion...), bg.PostPromotion...) {
		got = append(got, s.Summary())
	}
	if strings.Join(got, "; ") != "webhook POST https://ci.example/run; pause until promoted; pause 10m0s; analysis web-step-3" {
		t.Errorf("steps: %s", strings.Join(got, "; "))
	}
}

func TestTranslateBlueGreenErrors(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"a weight", "      - pause: {untilApproved: true}\n      shut", "      - setWeight: {weight: 50}\n      shut",
			"strategies.bg.blueGreen.redirectTrafficAfter[1].setWeight: blue/green has no weights"},
		{"no active Service", "  kubernetes: [{activeService: web, previewService: web-preview}]", "  kubernetes: []",
			"strategies.bg.blueGreen.activeService: Rollout web needs an active Service"},
		{"Services named twice, apart", "    blueGreen:\n", "    blueGreen:\n      activeService: web-live\n",
			"trafficManagement[0].kubernetes[0]: names other Services"},
		{"a mesh entry", "  kubernetes: [{activeService: web, previewService: web-preview}]", "  smi: [{rootServiceName: web}]",
			"smi and istio entries route canaries"},
		{"both kinds", "  bg:\n    blueGreen:\n", "  bg:\n    canary: {steps: [{setWeight: 5}]}\n    blueGreen:\n",
			"strategies.bg: set canary or blueGreen, not both"},
		{"a canary with blue/green Services", "    strategy: bg\n", "    strategy: canary\n",
			"trafficManagement[0].kubernetes[0]: names the active and preview Services of a blue/green, but target prod deploys Rollout web with a canary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(blueGreenFile, tc.from, tc.to, 1)
			if doc == blueGreenFile {
				t.Fatalf("%q is not in the file", tc.from)
			}
			_, err := translate(t, doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
