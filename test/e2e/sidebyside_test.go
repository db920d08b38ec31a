package e2e

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestSideBySideWithArgoRollouts installs Argo Rollouts' CRDs beside
// Ramp's, as a team migrating would, creates a Rollout of each, and looks
// as a user does: every short name of Ramp's is Ramp's alone and lists
// Ramp's objects, Argo's keep theirs, the ramp category and the ramp CLI
// show only Ramp's. `ramp convert --cluster` reads Argo's Rollout, and
// what it writes is a Rollout the API server takes.
func TestSideBySideWithArgoRollouts(t *testing.T) {
	t.Parallel()
	cluster, c := fixture.OwnCluster(t, localcluster.Options{ArgoRollouts: true, PodCIDR: "127.12.0.0/16"})
	kubectl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(clustertest.Kubectl(t), append([]string{"--kubeconfig", cluster.KubeconfigPath, "-n", "default"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	rollout := func(apiVersion, name string) *unstructured.Unstructured {
		labels := map[string]any{"app": name}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": apiVersion, "kind": "Rollout",
			"metadata": map[string]any{"name": name, "namespace": "default"},
			"spec": map[string]any{
				"replicas": int64(1),
				"selector": map[string]any{"matchLabels": labels},
				"template": map[string]any{"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "web:v1"}}}},
				"strategy": map[string]any{"canary": map[string]any{"steps": []any{map[string]any{"setWeight": int64(50)}}}},
			},
		}}
		if err := c.Create(context.Background(), u); err != nil {
			t.Fatalf("create %s %s: %v", apiVersion, name, err)
		}
		return u
	}
	rollout("argoproj.io/v1alpha1", "argo-web")
	rollout("ramp.dev/v1alpha1", "ramp-web")

	// Each short name names one resource; Ramp's are in ramp.dev.
	byShort := map[string][]string{}
	for _, line := range strings.Split(kubectl("api-resources", "--no-headers", "-o", "wide"), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.Contains(f[1], "/") { // a resource without short names
			continue
		}
		for _, s := range strings.Split(f[1], ",") {
			byShort[s] = append(byShort[s], f[0]+"."+f[2])
		}
	}
	for short, want := range map[string]string{
		"rro": "rollouts.ramp.dev/v1alpha1", "rar": "analysisruns.ramp.dev/v1alpha1", "rat": "analysistemplates.ramp.dev/v1alpha1",
		"rcat": "clusteranalysistemplates.ramp.dev/v1alpha1", "rhr": "hookruns.ramp.dev/v1alpha1",
		"ro": "rollouts.argoproj.io/v1alpha1", "ar": "analysisruns.argoproj.io/v1alpha1", "at": "analysistemplates.argoproj.io/v1alpha1",
		"cat": "clusteranalysistemplates.argoproj.io/v1alpha1",
	} {
		if got := byShort[short]; !slices.Equal(got, []string{want}) {
			t.Errorf("short name %s names %v, want %s alone", short, got, want)
		}
	}

	for _, tc := range []struct{ args, want string }{
		{"get rro -o name", "rollout.ramp.dev/ramp-web"},
		{"get rollouts.ramp.dev -o name", "rollout.ramp.dev/ramp-web"},
		{"get ro -o name", "rollout.argoproj.io/argo-web"},
		{"get ramp -o name", "rollout.ramp.dev/ramp-web"},
	} {
		if got := kubectl(strings.Fields(tc.args)...); got != tc.want {
			t.Errorf("kubectl %s: got %q, want %q", tc.args, got, tc.want)
		}
	}
	out, err := exec.Command(fixture.RampBinary(t), "get", "--kubeconfig", cluster.KubeconfigPath, "-n", "default").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ramp-web") || strings.Contains(string(out), "argo-web") {
		t.Errorf("ramp get: %v\n%s", err, out)
	}

	convert := exec.Command(fixture.RampBinary(t), "convert", "--cluster", "--kubeconfig", cluster.KubeconfigPath, "-n", "default")
	var stderr strings.Builder
	convert.Stderr = &stderr
	converted, err := convert.Output()
	if err != nil {
		t.Fatalf("ramp convert --cluster: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"apiVersion: ramp.dev/v1alpha1", "name: argo-web"} {
		if !strings.Contains(string(converted), want) {
			t.Errorf("ramp convert --cluster wrote no %q:\n%s", want, converted)
		}
	}
	if strings.Contains(string(converted), "ramp-web") || strings.Contains(string(converted), "argoproj.io") || strings.Contains(string(converted), "resourceVersion") {
		t.Errorf("ramp convert --cluster wrote more than Argo's Rollout as Ramp's:\n%s", converted)
	}
	apply := exec.Command(clustertest.Kubectl(t), "--kubeconfig", cluster.KubeconfigPath, "apply", "--server-side", "-f", "-")
	apply.Stdin = strings.NewReader(string(converted))
	if out, err := apply.CombinedOutput(); err != nil {
		t.Errorf("the converted Rollout is refused: %v\n%s", err, out)
	}
	if got := kubectl("get", "rro", "-o", "name"); got != "rollout.ramp.dev/argo-web\nrollout.ramp.dev/ramp-web" {
		t.Errorf("after applying the conversion: kubectl get rro: %q", got)
	}
}
