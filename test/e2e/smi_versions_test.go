package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestSMIOldVersions runs on a cluster of its own whose TrafficSplit CRD
// serves only v1alpha1 and v1alpha2, as linkerd-smi's does: Ramp must pick
// v1alpha2, the newest of those, for the split at rest and during a canary.
func TestSMIOldVersions(t *testing.T) {
	ctx := context.Background()
	cluster, c := fixture.OwnCluster(t, localcluster.Options{Nodes: 1, PodCIDR: "127.3.0.0/16"})
	if err := apiextensionsv1.AddToScheme(c.Scheme()); err != nil {
		t.Fatal(err)
	}

	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: "trafficsplits.split.smi-spec.io"}, crd); err != nil {
		t.Fatal(err)
	}
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		v.Served, v.Storage = v.Name == "v1alpha1" || v.Name == "v1alpha2", v.Name == "v1alpha2"
	}
	crd.Status.StoredVersions = nil
	if err := c.Update(ctx, crd); err != nil {
		t.Fatal(err)
	}
	cs := clustertestClientset(t, cluster)
	clustertest.Eventually(t, 30*time.Second, "discovery to serve only v1alpha1 and v1alpha2", func(context.Context) (bool, string) {
		_, errAlpha4 := cs.Discovery().ServerResourcesForGroupVersion("split.smi-spec.io/v1alpha4")
		_, errAlpha3 := cs.Discovery().ServerResourcesForGroupVersion("split.smi-spec.io/v1alpha3")
		_, errAlpha2 := cs.Discovery().ServerResourcesForGroupVersion("split.smi-spec.io/v1alpha2")
		return errAlpha4 != nil && errAlpha3 != nil && errAlpha2 == nil, "v1alpha3 or v1alpha4 still served"
	})

	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- manager.Run(mctx, cluster.Config(), manager.Options{MetricsAddr: "0", ProbeAddr: "0", InProcessTest: true})
	}()
	t.Cleanup(func() { cancel(); <-done })

	labels := map[string]string{"app": "web"}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	ro := &rampv1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: rampv1.RolloutSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Service:  "web",
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v1"}}},
			},
			Strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{
				Steps:          []rampv1.Step{{SetWeight: ptr.To(rampv1.Percent(10))}, {Pause: &rampv1.PauseStep{}}},
				TrafficRouting: &rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}},
			}},
		},
	}
	fixture.ShortMeshDelays(ro)
	for _, obj := range []client.Object{svc, ro} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	ts := &unstructured.Unstructured{}
	ts.SetGroupVersionKind(schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha2", Kind: "TrafficSplit"})
	clustertest.Eventually(t, time.Minute, "Ramp to create the TrafficSplit", func(ctx context.Context) (bool, string) {
		err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web"}, ts)
		return err == nil, errString(err)
	})
	var writers []string
	for _, mf := range ts.GetManagedFields() {
		writers = append(writers, mf.Manager+"@"+mf.APIVersion)
		if mf.APIVersion != "split.smi-spec.io/v1alpha2" {
			t.Errorf("TrafficSplit written as %s by %s, want v1alpha2", mf.APIVersion, mf.Manager)
		}
	}
	backends, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
	out, _ := json.Marshal(backends)
	if !strings.Contains(string(out), `"weight":100`) {
		t.Errorf("backends at rest: %s", out)
	}
	t.Logf("TrafficSplit writers: %v; backends %s", writers, out)

	// v1 must be stable first: a template changed before any revision is
	// available is a first deployment, with no canary.
	clustertest.Eventually(t, time.Minute, "v1 to be stable", func(ctx context.Context) (bool, string) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ro), ro); err != nil {
			return false, err.Error()
		}
		return ro.Status.Phase == rampv1.PhaseHealthy && ro.Status.StableRevision != "", string(ro.Status.Phase)
	})

	// A canary at 10%: integer weights, still as v1alpha2.
	// The controller writes the Rollout too (finalizer, status): retry on conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ro), ro); err != nil {
			return err
		}
		ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
		return c.Update(ctx, ro)
	}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, time.Minute, "the TrafficSplit at 90:10", func(ctx context.Context) (bool, string) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web"}, ts); err != nil {
			return false, err.Error()
		}
		backends, _, _ := unstructured.NestedSlice(ts.Object, "spec", "backends")
		out, _ := json.Marshal(backends)
		if err := c.Get(ctx, client.ObjectKeyFromObject(ro), ro); err != nil {
			return false, err.Error()
		}
		status, _ := json.Marshal(ro.Status)
		return string(out) == `[{"service":"web-stable","weight":90},{"service":"web-canary","weight":10}]`,
			fmt.Sprintf("backends %s; rollout status %s", out, status)
	})
	for _, mf := range ts.GetManagedFields() {
		if mf.APIVersion != "split.smi-spec.io/v1alpha2" {
			t.Errorf("TrafficSplit written as %s by %s during the canary, want v1alpha2", mf.APIVersion, mf.Manager)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func clustertestClientset(t *testing.T, c *localcluster.Cluster) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
