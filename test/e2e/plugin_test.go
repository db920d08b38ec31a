package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestKubectlPlugin runs `kubectl ramp get` through kubectl's plugin
// mechanism: the ramp binary on PATH as kubectl-ramp.
func TestKubectlPlugin(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25)))
	kubectl := clustertest.Kubectl(t)
	dir := t.TempDir()
	if err := os.Symlink(fixture.RampBinary(t), filepath.Join(dir, "kubectl-ramp")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubectl, "ramp", "get", "-n", e.NS)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+clustertest.Kubeconfig(t))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "NAME") || !strings.Contains(string(out), "web") {
		t.Fatalf("kubectl ramp get: %v\n%s", err, out)
	}
	plugins := exec.Command(kubectl, "plugin", "list")
	plugins.Env = append(os.Environ(), "PATH="+dir)
	list, err := plugins.CombinedOutput()
	if err != nil || !strings.Contains(string(list), "kubectl-ramp") {
		t.Errorf("kubectl plugin list: %v\n%s", err, list)
	}
}
