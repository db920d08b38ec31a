package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestDeployTakesOverARunningDeployment: a Deployment web already runs 3
// pods when a deploy file turns web into a Rollout. The Deployment keeps
// its pods until the Rollout runs all of its own, available, and only then
// scales to 0 (the API server's order of the two writes says so).
func TestDeployTakesOverARunningDeployment(t *testing.T) {
	e := fixture.New(t)
	e.StartController()
	labels := map[string]string{"app": "web"}
	e.Create(&appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v1"}}}},
		},
	})
	clustertest.Eventually(t, fixture.Wait, "Deployment web to run 3 pods", func(ctx context.Context) (bool, string) {
		d := &appsv1.Deployment{}
		if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, d); err != nil {
			return false, err.Error()
		}
		return d.Status.AvailableReplicas == 3, fmt.Sprintf("%d available", d.Status.AvailableReplicas)
	})
	deployments := e.Record(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	rollouts := e.Record(rampv1.GroupVersion.WithKind("Rollout"))

	raw, err := clientcmd.LoadFromFile(clustertest.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "deploy.yml")
	doc := fmt.Sprintf(`version: v1
kind: kubernetes
application: web
targets:
  prod: {account: %s, namespace: %s, strategy: canary}
manifests:
- inline: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: web:v2}]}
strategies:
  canary: {canary: {steps: [{setWeight: 50}]}}
`, raw.CurrentContext, e.NS)
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ramp(t, e, "deploy", "-f", file)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	if !strings.Contains(out, "prod: deployment "+e.NS+"/web scaled to 0: rollout web runs its 3 pods") {
		t.Errorf("the output does not tell the takeover:\n%s", out)
	}
	var down fixture.Write
	clustertest.Eventually(t, fixture.Wait, "the watch to deliver Deployment web's scale-down", func(context.Context) (bool, string) {
		var ok bool
		down, ok = deployments.FirstWriteAfter("web", 0, func(u *unstructured.Unstructured) bool {
			n, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
			return found && n == 0
		})
		return ok, "not seen"
	})
	var ready fixture.Write
	clustertest.Eventually(t, fixture.Wait, "the watch to deliver rollout web with its 3 pods available", func(context.Context) (bool, string) {
		var ok bool
		ready, ok = rollouts.FirstWriteAfter("web", 0, func(u *unstructured.Unstructured) bool {
			n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
			return n >= 3
		})
		return ok, "not seen"
	})
	if ready.Revision > down.Revision {
		t.Errorf("Deployment web scaled to 0 (revision %d) before rollout web ran its 3 pods (revision %d)", down.Revision, ready.Revision)
	}
}
