package cli_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampcd/ramp/internal/cli"
)

const argoManifests = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:v1"}]}
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {duration: 60}
      - analysis: {templates: [{templateName: errors}]}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: errors}
spec:
  metrics:
  - name: errors
    interval: 1m
    successCondition: result[0] <= 0.01
    provider:
      prometheus: {address: "http://prometheus:9090", query: "sum(rate(errors[1m]))"}
`

// TestConvertCommand converts a small Argo manifest: Ramp's objects and
// the Service on standard output, exit 0; a refused field names its file,
// document, object and path, and exits 1; unreadable input exits 2.
func TestConvertCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "argo.yaml")
	if err := os.WriteFile(in, []byte(argoManifests), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run("convert", "-f", in)
	if err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
	for _, want := range []string{
		"kind: Service", "apiVersion: ramp.dev/v1alpha1", "kind: Rollout", "setWeight: 20", "duration: 1m0s",
		"kind: AnalysisTemplate", "successCondition: result[0] <= 0.01", "2 converted, 1 passed through, 0 refused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "---\n") != 3 {
		t.Errorf("want three documents:\n%s", out)
	}

	written := filepath.Join(dir, "ramp.yaml")
	if out, err := run("convert", "-f", in, "-o", written); err != nil || strings.Contains(out, "kind: Rollout") {
		t.Errorf("convert -o: %v\n%s", err, out)
	}
	if data, err := os.ReadFile(written); err != nil || !strings.Contains(string(data), "kind: Rollout") {
		t.Errorf("-o wrote %q: %v", data, err)
	}

	nginx := strings.Replace(argoManifests, "      steps:\n", "      trafficRouting: {nginx: {stableIngress: web}}\n      steps:\n", 1)
	if err := os.WriteFile(in, []byte(nginx), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run("convert", "-f", in)
	var exit *cli.ExitError
	if !errors.As(err, &exit) || exit.Code != cli.ExitRefused || !strings.Contains(err.Error(), "1 field(s) refused") {
		t.Errorf("a refused field: %v\n%s", err, out)
	}
	if want := in + ": document 2 (Rollout web): spec.strategy.canary.trafficRouting.nginx: Ramp has no NGINX Ingress router; use gatewayAPI"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "kind: Rollout") || !strings.Contains(out, "kind: AnalysisTemplate") {
		t.Errorf("the refused Rollout was written, or the others were not:\n%s", out)
	}

	if err := os.WriteFile(in, []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"convert", "-f", in}, {"convert", "-f", filepath.Join(dir, "missing.yaml")}, {"convert"}} {
		if out, err := run(args...); !errors.As(err, &exit) || exit.Code != cli.ExitBadInput {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}
