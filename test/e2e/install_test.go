package e2e

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestInstallManifests applies config/default the way the docs say
// (kubectl apply --server-side -k) and checks what it creates.
func TestInstallManifests(t *testing.T) {
	bin := clustertest.Kubectl(t)
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--kubeconfig", clustertest.Kubeconfig(t)}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := kubectl("apply", "--server-side", "--force-conflicts", "-k", "config/default")
	// The CRDs stay: the cluster is shared with tests that run Rollouts.
	t.Cleanup(func() {
		kubectl("delete", "-k", "config/manager", "--ignore-not-found", "--wait=false")
		kubectl("delete", "-k", "config/rbac", "--ignore-not-found", "--wait=false")
		kubectl("delete", "-k", "config/admission", "--ignore-not-found", "--wait=false")
	})
	for _, want := range []string{
		"customresourcedefinition.apiextensions.k8s.io/rollouts.ramp.dev",
		"clusterrole.rbac.authorization.k8s.io/ramp-controller",
		"deployment.apps/ramp-controller",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply did not create %s:\n%s", want, out)
		}
	}
	cs := clustertest.Clientset(t)
	role, err := cs.RbacV1().ClusterRoles().Get(context.Background(), "ramp-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !grants(role.Rules, "ramp.dev", "rollouts/status", "patch") || !grants(role.Rules, "apps", "replicasets", "create") {
		t.Errorf("ClusterRole ramp-controller lacks what the controller needs: %+v", role.Rules)
	}
	clustertest.Eventually(t, time.Minute, "the controller Deployment to be Available", func(ctx context.Context) (bool, string) {
		d, err := cs.AppsV1().Deployments("ramp-system").Get(ctx, "ramp-controller", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == "True" {
				return true, ""
			}
		}
		return false, "not available"
	})
}

func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}
