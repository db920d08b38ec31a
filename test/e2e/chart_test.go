package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// renderChart renders charts/ramp as `helm install ramp -n ramp-system`
// would, with values, CRDs included.
func renderChart(t *testing.T, values map[string]any) map[string]*unstructured.Unstructured {
	t.Helper()
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	return renderChartAt(t, filepath.Join(repo, "charts", "ramp"), values)
}

// renderChartAt renders the chart at path (a folder or a packaged .tgz).
func renderChartAt(t *testing.T, path string, values map[string]any) map[string]*unstructured.Unstructured {
	t.Helper()
	ch, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(ch, values,
		chartutil.ReleaseOptions{Name: "ramp", Namespace: "ramp-system", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(files)) {
		stream.WriteString(files[name] + "\n---\n")
	}
	for _, crd := range ch.CRDObjects() {
		stream.Write(crd.File.Data)
		stream.WriteString("\n---\n")
	}
	return objects(t, stream.Bytes())
}

// objects indexes a YAML stream's objects by kind, namespace and name.
func objects(t *testing.T, data []byte) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if len(u.Object) > 0 {
			out[fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())] = u
		}
	}
}

// kustomized builds a kustomization of the repository with kubectl, by
// "Kind namespace/name".
func kustomized(t *testing.T, kubectl, repo, dir string) map[string]*unstructured.Unstructured {
	t.Helper()
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Dir = repo
	built, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	return objects(t, built)
}

// TestChart: the Helm chart with its defaults renders the objects of the
// kustomize base, but the Namespace (helm install --create-namespace), and
// its values do what they say.
func TestChart(t *testing.T) {
	t.Parallel()
	kubectl := clustertest.Kubectl(t)
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	want := kustomized(t, kubectl, repo, "config/default")
	delete(want, "Namespace /ramp-system")
	got := renderChart(t, nil)
	for key, w := range want {
		g, ok := got[key]
		if !ok {
			t.Errorf("the chart lacks %s", key)
			continue
		}
		if !reflect.DeepEqual(g.Object, w.Object) {
			gy, _ := yaml.Marshal(g.Object)
			wy, _ := yaml.Marshal(w.Object)
			t.Errorf("%s differs (run make generate?); chart:\n%s\nkustomize:\n%s", key, gy, wy)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("the chart has %s, which the kustomize base has not", key)
		}
	}

	t.Run("values", func(t *testing.T) {
		got := renderChart(t, map[string]any{
			"watchNamespaces":  []any{"shop", "payments"},
			"webhookAllowlist": []any{"ci.example.com", "10.0.0.0/8"},
			"leaderElection":   map[string]any{"enabled": false},
			"replicas":         1,
			"image":            map[string]any{"tag": "v9.9.9", "digest": "sha256:" + strings.Repeat("ab", 32)},
			"metrics":          map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}}},
			"callbacks":        map[string]any{"url": "https://ramp-callbacks.example.com"},
			"logging":          map[string]any{"encoder": "console", "level": "debug"},
			"serviceAccount":   map[string]any{"annotations": map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/ramp"}},
			"env":              []any{map[string]any{"name": "AWS_REGION", "value": "eu-west-1"}},
		})
		d := got["Deployment ramp-system/ramp-controller"]
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		c := containers[0].(map[string]any)
		args := fmt.Sprint(c["args"])
		for _, want := range []string{"--watch-namespace=shop,payments", "--webhook-allowlist=ci.example.com,10.0.0.0/8", "--callback-url=https://ramp-callbacks.example.com", "--zap-encoder=console", "--zap-log-level=debug"} {
			if !strings.Contains(args, want) {
				t.Errorf("args %s lack %s", args, want)
			}
		}
		if strings.Contains(args, "--leader-elect") || c["image"] != "ghcr.io/rampcd/ramp:v9.9.9@sha256:"+strings.Repeat("ab", 32) {
			t.Errorf("args %s, image %v", args, c["image"])
		}
		for _, key := range []string{"RoleBinding shop/ramp-controller", "RoleBinding payments/ramp-controller", "ServiceMonitor ramp-system/ramp-controller",
			"ClusterRoleBinding /ramp-controller-cluster-templates"} {
			if got[key] == nil {
				t.Errorf("no %s", key)
			}
		}
		// Cluster-scoped rights come through a ClusterRoleBinding: the
		// admission configuration's too, or its CA is never given.
		if rules := fmt.Sprint(got["ClusterRole /ramp-controller-cluster-templates"].Object["rules"]); !strings.Contains(rules, "validatingwebhookconfigurations") ||
			!strings.Contains(rules, "mutatingwebhookconfigurations") {
			t.Errorf("watching some namespaces, the controller may not give the webhooks its CA: %s", rules)
		}
		for _, kind := range []string{"Validating", "Mutating"} {
			webhooks, _, _ := unstructured.NestedSlice(got[kind+"WebhookConfiguration /ramp-admission"].Object, "webhooks")
			if len(webhooks) == 0 {
				t.Errorf("no %sWebhookConfiguration", kind)
				continue
			}
			if sel := fmt.Sprint(webhooks[0].(map[string]any)["namespaceSelector"]); !strings.Contains(sel, "shop payments") {
				t.Errorf("watching some namespaces, the %s webhook sees others' objects: namespaceSelector %s", kind, sel)
			}
		}
		for _, key := range []string{"ClusterRoleBinding /ramp-controller", "Role ramp-system/ramp-leader-election"} {
			if got[key] != nil {
				t.Errorf("%s is still there", key)
			}
		}
		if l := got["ServiceMonitor ramp-system/ramp-controller"].GetLabels(); l["release"] != "prom" {
			t.Errorf("ServiceMonitor labels %v", l)
		}
		if a := got["ServiceAccount ramp-system/ramp-controller"].GetAnnotations(); a["eks.amazonaws.com/role-arn"] != "arn:aws:iam::1:role/ramp" {
			t.Errorf("ServiceAccount annotations %v", a)
		}
		if env := fmt.Sprint(c["env"]); env != "[map[name:AWS_REGION value:eu-west-1]]" {
			t.Errorf("env %s", env)
		}
	})

	// shards: 3 renders what the kustomize overlay config/shards builds:
	// three replicas, all active, and no leader election.
	t.Run("shards", func(t *testing.T) {
		want := kustomized(t, kubectl, repo, "config/shards")
		got := renderChart(t, map[string]any{"shards": 3})
		for _, key := range []string{"Deployment ramp-system/ramp-controller", "Role ramp-system/ramp-leader-election"} {
			if !reflect.DeepEqual(got[key].Object, want[key].Object) {
				gy, _ := yaml.Marshal(got[key].Object)
				wy, _ := yaml.Marshal(want[key].Object)
				t.Errorf("%s differs; chart:\n%s\nkustomize:\n%s", key, gy, wy)
			}
		}
		d := got["Deployment ramp-system/ramp-controller"]
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		args := fmt.Sprint(containers[0].(map[string]any)["args"])
		if replicas, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); fmt.Sprint(replicas) != "3" || !strings.Contains(args, "--shards=3") || strings.Contains(args, "--leader-elect ") {
			t.Errorf("shards: 3 renders %v replicas with args %s", replicas, args)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		got := renderChart(t, map[string]any{"dashboard": map[string]any{
			"enabled": true, "readOnly": true, "namespace": "shop", "allowedHosts": []any{"ramp.example.com", "ramp.internal"}}})
		d := got["Deployment ramp-system/ramp-dashboard"]
		if d == nil {
			t.Fatal("no dashboard Deployment")
		}
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		// The image's entrypoint runs the controller: the dashboard
		// names its own command.
		command, args := fmt.Sprint(containers[0].(map[string]any)["command"]), fmt.Sprint(containers[0].(map[string]any)["args"])
		if command != "[/usr/local/bin/ramp dashboard]" || args != "[--address=0.0.0.0 --port=8080 --read-only --namespace=shop --allowed-hosts=ramp.example.com,ramp.internal]" {
			t.Errorf("dashboard command %s args %s", command, args)
		}
		// Its pods are not the controller's: the controller's Services
		// must not send them traffic.
		if sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels"); sel["app.kubernetes.io/component"] != "dashboard" {
			t.Errorf("dashboard selector %v", sel)
		}
		rules, _, _ := unstructured.NestedSlice(got["ClusterRole /ramp-dashboard"].Object, "rules")
		if strings.Contains(fmt.Sprint(rules), "patch") {
			t.Errorf("a read-only dashboard may patch: %v", rules)
		}
		for _, key := range []string{"Service ramp-system/ramp-dashboard", "ServiceAccount ramp-system/ramp-dashboard", "RoleBinding shop/ramp-dashboard"} {
			if got[key] == nil {
				t.Errorf("no %s", key)
			}
		}
		if got["ClusterRoleBinding /ramp-dashboard"] != nil {
			t.Error("a dashboard of one namespace is bound cluster-wide")
		}
	})

	t.Run("admission", func(t *testing.T) {
		args := func(got map[string]*unstructured.Unstructured) (string, map[string]any) {
			containers, _, _ := unstructured.NestedSlice(got["Deployment ramp-system/ramp-controller"].Object, "spec", "template", "spec", "containers")
			c := containers[0].(map[string]any)
			return fmt.Sprint(c["args"]), c
		}
		got := renderChart(t, map[string]any{"admission": map[string]any{"certManager": map[string]any{"enabled": true}}})
		a, c := args(got)
		if !strings.Contains(a, "--admission-cert-dir=/admission-certs") || strings.Contains(a, "--admission-namespace") {
			t.Errorf("with cert-manager, args %s", a)
		}
		if mounts := fmt.Sprint(c["volumeMounts"]); !strings.Contains(mounts, "/admission-certs") {
			t.Errorf("with cert-manager, volume mounts %s", mounts)
		}
		vols, _, _ := unstructured.NestedSlice(got["Deployment ramp-system/ramp-controller"].Object, "spec", "template", "spec", "volumes")
		if !strings.Contains(fmt.Sprint(vols), "secretName:ramp-admission-tls") {
			t.Errorf("with cert-manager, volumes %v", vols)
		}
		for _, key := range []string{"Certificate ramp-system/ramp-admission", "Issuer ramp-system/ramp-admission"} {
			if got[key] == nil {
				t.Errorf("with cert-manager, no %s", key)
			}
		}
		if got["Role ramp-system/ramp-admission"] != nil {
			t.Error("with cert-manager, the controller may still write the certificate Secret")
		}
		for _, kind := range []string{"Validating", "Mutating"} {
			if ann := got[kind+"WebhookConfiguration /ramp-admission"].GetAnnotations(); ann["cert-manager.io/inject-ca-from"] != "ramp-system/ramp-admission" {
				t.Errorf("with cert-manager, %sWebhookConfiguration annotations %v", kind, ann)
			}
		}

		got = renderChart(t, map[string]any{"admission": map[string]any{"enabled": false}})
		if a, _ := args(got); strings.Contains(a, "--admission") {
			t.Errorf("without admission, args %s", a)
		}
		for key := range got {
			if strings.Contains(key, "admission") {
				t.Errorf("without admission, the chart still has %s", key)
			}
		}
	})
}
