package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestLeastPrivilegeAndSecrets runs the controller as a ServiceAccount with
// exactly the shipped rights, in namespaced mode: the ClusterRole of
// config/rbac bound by a RoleBinding in the watched namespace, the
// leader-election Role, and reading ClusterAnalysisTemplates (as the Helm
// chart sets it up). A canary uses every kind of work the controller does
// (SMI routing, an analysis, a webhook, a Job; then a canary through
// Gateway API and one through Istio) with a Secret's value in
// the headers of the analysis and the webhook; both servers echo it back in
// their answers. The canary must be promoted with no request refused, and
// the Secret's value must appear nowhere but in the requests: not in the
// controller's log (at debug level), events, any status, or the CLI's output.
func TestLeastPrivilegeAndSecrets(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := context.Background()
	secret := plantedSecret(t)
	e.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tokens", Namespace: e.NS}, StringData: map[string]string{"token": secret}})

	var metricCalls, secretSeen atomic.Int32
	metrics := fixture.NewTestSystem(t, func(n int, c fixture.Call) (int, string) {
		metricCalls.Add(1)
		if c.Header.Get("X-Token") == secret {
			secretSeen.Add(1)
		}
		if n == 0 { // an error that quotes the secret back
			return http.StatusUnauthorized, "bad token " + c.Header.Get("X-Token")
		}
		return http.StatusOK, fmt.Sprintf(`{"errorRate": 0, "echo": %q}`, c.Header.Get("X-Token"))
	})
	tests := fixture.NewTestSystem(t, func(n int, c fixture.Call) (int, string) {
		if c.Header.Get("X-Token") == secret {
			secretSeen.Add(1)
		}
		if n == 0 { // a failure whose message quotes the secret back
			return http.StatusInternalServerError, "tests failed for token " + c.Header.Get("X-Token")
		}
		return http.StatusOK, "tests passed for token " + c.Header.Get("X-Token")
	})
	fromSecret := []rampv1.Header{{Name: "X-Token", ValueFrom: &rampv1.SecretKeyRef{Name: "tokens", Key: "token"}}}
	e.Create(&rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: e.NS},
		Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
			Name: "error-rate", Interval: &metav1.Duration{Duration: 300 * time.Millisecond}, Count: ptr.To[int32](2),
			ConsecutiveErrorLimit: ptr.To[int32](3), SuccessCondition: "result <= 0.01",
			Provider: rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: metrics.URL, JSONPath: "{.errorRate}", Headers: fromSecret}},
		}}},
	})
	e.Create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.NS},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})

	kubeconfig := serviceAccountKubeconfig(t, e)
	ctrl := e.StartControllerProcess("--kubeconfig", kubeconfig, "--leader-elect", "--leader-election-namespace", e.NS, "--zap-log-level=debug")

	analysis := rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors"}}}}
	webhook := rampv1.Step{Webhook: &rampv1.WebhookHook{URL: tests.URL, Headers: fromSecret, Retries: ptr.To[int32](1)}}
	job := rampv1.Step{Job: &rampv1.JobHook{Container: corev1.Container{Name: "smoke", Image: "tests:v1"}}}
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), analysis, webhook, job, fixture.SetWeight(50))
	ro.Spec.Service = "web"
	ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}}
	fixture.ShortMeshDelays(ro)
	e.Create(ro)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, 2*fixture.Wait)
	if secretSeen.Load() < 2 {
		t.Fatalf("the servers got the secret %d times: the test proves nothing", secretSeen.Load())
	}
	// The other two routers' objects, under the same rights.
	for _, router := range []fixture.Router{fixture.GatewayAPI, fixture.Istio} {
		name := strings.ToLower(strings.ReplaceAll(string(router), " ", "-"))
		ro := e.Rollout(name, "web:v1", fixture.SetWeight(25), fixture.SetWeight(50))
		e.Route(ro, router)
		e.Create(ro)
		e.WaitFor(name, fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
		e.SetImage(name, "web:v2")
		e.WaitFor(name, fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
	}

	logData, err := os.ReadFile(ctrl.Log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(logData)), "forbidden") {
		t.Errorf("the controller was refused something with the shipped rights; log %s", ctrl.Log)
	}
	places := map[string]string{"the controller's log": string(logData)}
	for what, list := range map[string]client.ObjectList{
		"events": &corev1.EventList{}, "rollouts": &rampv1.RolloutList{},
		"analysis runs": &rampv1.AnalysisRunList{}, "hook runs": &rampv1.HookRunList{},
	} {
		if err := e.C.List(ctx, list, client.InNamespace(e.NS)); err != nil {
			t.Fatal(err)
		}
		data, _ := yaml.Marshal(list)
		places[what] = string(data)
	}
	for _, args := range [][]string{{"status", "web"}, {"get", "web", "-o", "yaml"}} {
		cmd := exec.Command(fixture.RampBinary(t), append(args, "--kubeconfig", clustertest.Kubeconfig(t), "-n", e.NS)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ramp %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		places["ramp "+strings.Join(args, " ")] = string(out)
	}
	if !strings.Contains(places["analysis runs"], "401") || !strings.Contains(places["hook runs"], "tests failed for token [redacted]") {
		t.Errorf("the failed measurement or attempt is not in the runs' status; the check below proves little:\n%s\n%s", places["analysis runs"], places["hook runs"])
	}
	for what, text := range places {
		if strings.Contains(text, secret) {
			t.Errorf("the secret's value is in %s", what)
		}
	}
}

// plantedSecret is a value that appears nowhere by chance.
func plantedSecret(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "planted-" + hex.EncodeToString(b)
}

// serviceAccountKubeconfig sets up a ServiceAccount with the shipped
// rights, namespaced, and writes a kubeconfig with its token.
func serviceAccountKubeconfig(t *testing.T, e *fixture.Env) string {
	t.Helper()
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	readRole := func(path string, into client.Object) {
		data, err := os.ReadFile(filepath.Join(repo, path))
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := bytes.Cut(data, []byte("\n---\n"))
		if err := yaml.Unmarshal(first, into); err != nil {
			t.Fatal(err)
		}
	}
	shipped, election, admission := &rbacv1.ClusterRole{}, &rbacv1.Role{}, &rbacv1.Role{}
	readRole("config/rbac/role.yaml", shipped)
	readRole("config/rbac/leader_election_role.yaml", election)
	readRole("config/admission/role.yaml", admission) // its first document
	sa := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "ramp-controller", Namespace: e.NS}}
	name := "ramp-controller-" + e.NS // cluster-scoped objects: one per test
	templates := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name + "-templates"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{"ramp.dev"}, Resources: []string{"clusteranalysistemplates"}, Verbs: []string{"get", "list", "watch"},
	}}}
	// Cluster-scoped objects are reached through a ClusterRoleBinding.
	for _, r := range shipped.Rules {
		if slices.Contains(r.APIGroups, "admissionregistration.k8s.io") {
			templates.Rules = append(templates.Rules, r)
		}
	}
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ramp-controller", Namespace: e.NS}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: shipped.Rules},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ramp-controller", Namespace: e.NS},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}, Subjects: sa},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ramp-leader-election", Namespace: e.NS}, Rules: election.Rules},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ramp-leader-election", Namespace: e.NS},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "ramp-leader-election"}, Subjects: sa},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ramp-admission", Namespace: e.NS}, Rules: admission.Rules},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ramp-admission", Namespace: e.NS},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "ramp-admission"}, Subjects: sa},
		templates,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name + "-templates"},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: templates.Name}, Subjects: sa},
	}
	for _, obj := range objs {
		e.Create(obj)
		if obj.GetNamespace() == "" {
			t.Cleanup(func() { _ = e.C.Delete(context.Background(), obj) })
		}
	}
	return tokenKubeconfig(t, e, "ramp-controller")
}

// tokenKubeconfig writes a kubeconfig that acts as the ServiceAccount sa
// of the test's namespace, with a token of an hour.
func tokenKubeconfig(t *testing.T, e *fixture.Env, sa string) string {
	t.Helper()
	tok, err := clustertest.Clientset(t).CoreV1().ServiceAccounts(e.NS).CreateToken(context.Background(), sa,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin := clustertest.Config(t)
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" {
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts[sa] = &clientcmdapi.Context{Cluster: "local", AuthInfo: sa, Namespace: e.NS}
	cfg.CurrentContext = sa
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWebhookAllowlist: a controller told to call only ci.example.com
// refuses a webhook step to another host: the run fails without calling,
// saying why, and the canary rolls back.
func TestWebhookAllowlist(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartControllerProcess("--webhook-allowlist", "ci.example.com,10.0.0.0/8")
	sys := fixture.NewTestSystem(t, nil)
	step := rampv1.Step{Webhook: &rampv1.WebhookHook{URL: sys.URL}}
	e.Create(e.Rollout("web", "web:v1", fixture.SetWeight(25), step, fixture.Pause(0)))
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("web", "web:v2")
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
	var runs rampv1.HookRunList
	if err := e.C.List(context.Background(), &runs, client.InNamespace(e.NS)); err != nil || len(runs.Items) != 1 {
		t.Fatalf("hook runs: %v %d", err, len(runs.Items))
	}
	want := "not called: host 127.0.0.1 is not in the controller's webhook allowlist (ci.example.com, 10.0.0.0/8)"
	if s := runs.Items[0].Status; s.Phase != rampv1.HookFailed || s.Message != want {
		t.Errorf("hook run %s: %q, want %q", s.Phase, s.Message, want)
	}
	if n := len(sys.Calls()); n != 0 {
		t.Errorf("the test system was called %d times", n)
	}
}
