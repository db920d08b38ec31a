package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
)

// TestDashboard runs `ramp dashboard` against the local cluster and drives
// it in headless Chromium (test/browser/dashboard.mjs): the Rollout's page
// shows its canary advance live, its Promote button promotes it a step,
// its Abort button rolls it back. The cluster's state is checked here
// after each click's effect was seen on the page.
//
// RAMP_SCREENSHOTS=docs/images keeps the screenshots in the docs.
func TestDashboard(t *testing.T) {
	t.Parallel()
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	browserDir := filepath.Join(repo, "test", "browser")
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed: run make test, which installs it and Debian's chromium, or `npm ci --prefix test/browser` and `apt-get install chromium`: %v", err)
	}
	shots := os.Getenv("RAMP_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if !filepath.IsAbs(shots) {
		shots = filepath.Join(repo, shots)
	}

	e := fixture.New(t)
	// A background analysis measures an error rate on a loopback server,
	// every second, so the page has measurements to chart against 1%.
	var n atomic.Int64
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := n.Add(1)
		fmt.Fprintf(w, `{"errorRate": %.4f}`, 0.004+0.002*math.Sin(float64(i)/2))
	}))
	t.Cleanup(metrics.Close)
	e.Create(&rampv1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "error-rate", Namespace: e.NS},
		Spec: rampv1.AnalysisTemplateSpec{Metrics: []rampv1.Metric{{
			Name: "error-rate", Interval: &metav1.Duration{Duration: time.Second},
			SuccessCondition: "result <= 0.01",
			Provider:         rampv1.MetricProvider{Web: &rampv1.WebMetric{URL: metrics.URL, JSONPath: "{.errorRate}"}},
		}}},
	})
	ro := e.Rollout("shop", "shop:v1", fixture.SetWeight(10), fixture.Pause(3*time.Second), fixture.SetWeight(30), fixture.Pause(0),
		fixture.SetWeight(60), fixture.Pause(0))
	ro.Spec.Strategy.Canary.Analysis = &rampv1.BackgroundAnalysis{AnalysisStep: rampv1.AnalysisStep{
		Templates: []rampv1.TemplateRef{{TemplateName: "error-rate"}},
	}}
	e.Route(ro, fixture.SMI)
	e.StartControllerProcess()
	e.Create(ro)
	e.WaitFor("shop", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)

	// Two more Rollouts for the list: one at rest, one canary held at 25%.
	e.Create(e.Rollout("cart", "cart:v1", fixture.SetWeight(50), fixture.Pause(0)))
	e.Create(e.Rollout("search", "search:v1", fixture.SetWeight(25), fixture.Pause(0)))
	e.WaitFor("search", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	e.SetImage("search", "search:v2")

	// The dashboard runs with the rights the Helm chart gives it.
	kubeconfig := dashboardKubeconfig(t, e)
	url := startDashboard(t, "--kubeconfig", kubeconfig, "-n", e.NS, "--port", "0")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	browser := exec.CommandContext(ctx, "node", "dashboard.mjs", url, e.NS, "shop", shots)
	browser.Dir = browserDir
	var stderr strings.Builder
	browser.Stderr = &stderr
	out, err := browser.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	var said []string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		said = append(said, lines.Text())
		if lines.Text() == "ready" {
			e.SetImage("shop", "shop:v2") // the page is open: now the canary starts
		}
	}
	if err := browser.Wait(); err != nil || strings.Join(said, ",") != "ready,done" {
		t.Fatalf("browser: %v (said %q)\n%s", err, said, stderr.String())
	}
	t.Logf("browser:\n%s", stderr.String())

	// What the page showed is what the cluster did: one promotion by
	// request, then a rollback by request.
	got := e.Get("shop")
	if got.Status.Phase != rampv1.PhaseDegraded || got.Status.Abort == nil || got.Status.Abort.Reason != "Aborted" {
		t.Errorf("after Abort: phase %s, abort %+v", got.Status.Phase, got.Status.Abort)
	}
	var outcomes []string
	for _, r := range got.Status.StepHistory {
		outcomes = append(outcomes, fmt.Sprintf("%d:%s", r.Index, r.Outcome))
	}
	if h := strings.Join(outcomes, " "); h != "0:Passed 1:Passed 2:Passed 3:Promoted 4:Passed 5:RolledBack" {
		t.Errorf("step history: %s", h)
	}
	if got.Status.Handled.Promote == "" || got.Status.Handled.Abort == "" {
		t.Errorf("requests handled: %+v", got.Status.Handled)
	}
	for _, shot := range []string{"dashboard-rollout.png", "dashboard-list.png", "dashboard-phone.png"} {
		if st, err := os.Stat(filepath.Join(shots, shot)); err != nil || st.Size() < 10_000 {
			t.Errorf("screenshot %s: %v", shot, err)
		}
	}
}

// dashboardKubeconfig makes the Helm chart's ramp-dashboard ServiceAccount
// and rights in the test's namespace and returns a kubeconfig acting as it.
func dashboardKubeconfig(t *testing.T, e *fixture.Env) string {
	t.Helper()
	chart := renderChart(t, map[string]any{"dashboard": map[string]any{"enabled": true, "namespace": e.NS}})
	role := &rbacv1.ClusterRole{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(chart["ClusterRole /ramp-dashboard"].Object, role); err != nil {
		t.Fatal(err)
	}
	if chart["RoleBinding "+e.NS+"/ramp-dashboard"] == nil {
		t.Fatal("the chart does not bind the dashboard's role in its namespace")
	}
	name := "ramp-dashboard-" + e.NS // cluster-scoped: one per test
	e.Create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ramp-dashboard", Namespace: e.NS}})
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: role.Rules}
	e.Create(cr)
	t.Cleanup(func() { _ = e.C.Delete(context.Background(), cr) })
	e.Create(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ramp-dashboard", Namespace: e.NS},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "ramp-dashboard", Namespace: e.NS}}})
	return tokenKubeconfig(t, e, "ramp-dashboard")
}

// TestDashboardWithoutRights: credentials that may not read Rollouts get
// one clear error at start, naming what is missing and what to do, not a
// page that never fills.
func TestDashboardWithoutRights(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.Create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody", Namespace: e.NS}})
	kubeconfig := tokenKubeconfig(t, e, "nobody")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", e.NS}, "may not list rollouts.ramp.dev, watch rollouts.ramp.dev, list analysisruns.ramp.dev"},
		{nil, "in all namespaces: give -n NAMESPACE"},
	} {
		cmd := exec.Command(fixture.RampBinary(t), append([]string{"dashboard", "--kubeconfig", kubeconfig, "--port", "0"}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("ramp dashboard %v: %v\n%s\nwant the message to say %q", tc.args, err, out, tc.want)
		}
	}
}

// startDashboard runs `ramp dashboard` with args until the test ends and
// returns the address it serves.
func startDashboard(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(fixture.RampBinary(t), append([]string{"dashboard"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("dashboard log:\n%s", stderr.String())
		}
	})
	// The first line says where it serves, once its watches have synced.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		t.Fatalf("ramp dashboard: %v\n%s", err, stderr.String())
	}
	const prefix = "Ramp dashboard on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("ramp dashboard said %q", line)
	}
	return strings.Fields(strings.TrimPrefix(line, prefix))[0]
}
