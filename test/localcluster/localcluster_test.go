package localcluster_test

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/utils/ptr"

	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func TestDeploymentBecomesAvailableWithLoopbackPodIPs(t *testing.T) {
	ns := clustertest.Namespace(t)
	cs := clustertest.Clientset(t)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.invalid/web:v1"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, time.Minute, "the Deployment to be Available with 3 ready replicas", func(ctx context.Context) (bool, string) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue && d.Status.ReadyReplicas == 3 {
				return true, ""
			}
		}
		return false, "ready replicas " + strconv.Itoa(int(d.Status.ReadyReplicas))
	})

	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Fatalf("got %d pods, want 3", len(pods.Items))
	}
	podCIDR := netip.MustParsePrefix(localcluster.DefaultPodCIDR)
	seen := map[string]bool{}
	for _, p := range pods.Items {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil {
			t.Fatalf("pod %s: PodIP %q: %v", p.Name, p.Status.PodIP, err)
		}
		if !ip.IsLoopback() || !podCIDR.Contains(ip) {
			t.Errorf("pod %s has IP %s, want a loopback address in %s", p.Name, ip, podCIDR)
		}
		if seen[ip.String()] {
			t.Errorf("pod IP %s given twice", ip)
		}
		seen[ip.String()] = true
	}
}

func TestDiscoveryServesRouterAPIs(t *testing.T) {
	cs := clustertest.Clientset(t)
	want := map[string]string{
		"split.smi-spec.io/v1alpha1":   "trafficsplits",
		"split.smi-spec.io/v1alpha2":   "trafficsplits",
		"split.smi-spec.io/v1alpha3":   "trafficsplits",
		"split.smi-spec.io/v1alpha4":   "trafficsplits",
		"gateway.networking.k8s.io/v1": "httproutes",
		"networking.istio.io/v1":       "virtualservices",
		"networking.istio.io/v1beta1":  "virtualservices",
		"networking.istio.io/v1alpha3": "destinationrules",
	}
	for gv, resource := range want {
		list, err := cs.Discovery().ServerResourcesForGroupVersion(gv)
		if err != nil {
			t.Errorf("%s: %v", gv, err)
			continue
		}
		found := false
		for _, r := range list.APIResources {
			found = found || r.Name == resource
		}
		if !found {
			t.Errorf("%s does not serve %s", gv, resource)
		}
	}
}

// TestTrafficSplitSchemas checks the SMI fixture's schemas: v1alpha1 takes
// quantity weights, later versions only integers.
func TestTrafficSplitSchemas(t *testing.T) {
	ns := clustertest.Namespace(t)
	kubectl := kubectl(t)
	tests := []struct {
		version, weight string
		wantErr         string
	}{
		{"v1alpha1", `"500m"`, ""},
		{"v1alpha2", `500`, ""},
		{"v1alpha3", `1`, ""},
		{"v1alpha4", `999`, ""},
		{"v1alpha4", `"500m"`, "spec.backends[0].weight"},
		{"v1alpha2", `-1`, "spec.backends[0].weight"},
	}
	for i, tt := range tests {
		manifest := `{"apiVersion":"split.smi-spec.io/` + tt.version + `","kind":"TrafficSplit",` +
			`"metadata":{"name":"ts-` + strconv.Itoa(i) + `"},` +
			`"spec":{"service":"web","backends":[{"service":"web-canary","weight":` + tt.weight + `}]}}`
		out, err := kubectl("-n", ns, "create", "-f", "-").withStdin(manifest).run()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s weight %s refused: %v\n%s", tt.version, tt.weight, err, out)
		case tt.wantErr != "" && err == nil:
			t.Errorf("%s weight %s accepted, want an error naming %s", tt.version, tt.weight, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(out, tt.wantErr):
			t.Errorf("%s weight %s: error does not name %s:\n%s", tt.version, tt.weight, tt.wantErr, out)
		}
	}
}

func TestKubectlParsesServerVersion(t *testing.T) {
	out, err := kubectl(t)("version", "-o", "json").run()
	if err != nil {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}
	var v struct {
		ServerVersion struct{ GitVersion, Major, Minor string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("kubectl version output: %v\n%s", err, out)
	}
	bins := binaries(t)
	if v.ServerVersion.GitVersion != bins.KubernetesVersion {
		t.Errorf("server reports %q, want %q", v.ServerVersion.GitVersion, bins.KubernetesVersion)
	}
	parsed, err := version.ParseSemantic(v.ServerVersion.GitVersion)
	if err != nil {
		t.Fatal(err)
	}
	if v.ServerVersion.Major != strconv.Itoa(int(parsed.Major())) || v.ServerVersion.Minor != strconv.Itoa(int(parsed.Minor())) {
		t.Errorf("server reports major %q minor %q for %s", v.ServerVersion.Major, v.ServerVersion.Minor, parsed)
	}
}

// TestStopLeavesNothing starts a second cluster beside the shared one (ports
// chosen free) and checks that Stop ends every process and removes its folder.
func TestStopLeavesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	c, err := localcluster.Start(context.Background(), binaries(t), localcluster.Options{Dir: dir, Nodes: 1, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	pids := c.PIDs()
	if len(pids) != 5 {
		t.Errorf("cluster runs %d processes, want 5 (etcd, apiserver, controller-manager, scheduler, kwok)", len(pids))
	}
	if got := processesUsing(t, dir); len(got) != len(pids) {
		t.Errorf("found %d processes using %s, want %d", len(got), dir, len(pids))
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil && !zombie(pid) {
			t.Errorf("process %d still running after Stop", pid)
		}
	}
	if got := processesUsing(t, dir); len(got) != 0 {
		t.Errorf("processes still using %s after Stop: %v", dir, got)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster folder %s still there after Stop (%v)", dir, err)
	}
}

// TestFailedStartNamesComponentAndLeavesNothing takes the API server's port
// before the cluster starts.
func TestFailedStartNamesComponentAndLeavesNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	dir := filepath.Join(t.TempDir(), "cluster")
	_, err = localcluster.Start(context.Background(), binaries(t), localcluster.Options{
		Dir: dir, Nodes: 1, Ports: localcluster.Ports{APIServer: port}, Log: testWriter{t},
	})
	if err == nil {
		t.Fatal("Start succeeded with the API server's port taken")
	}
	msg := err.Error()
	logPath := filepath.Join(dir, "logs", "kube-apiserver.log")
	for _, want := range []string{"kube-apiserver exited", logPath, strconv.Itoa(port)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(logPath); err != nil {
		t.Errorf("the log the error points at is gone: %v", err)
	}
	if got := processesUsing(t, dir); len(got) != 0 {
		t.Errorf("processes left running after a failed start: %v", got)
	}
}

func TestPodCIDROutsideLoopbackIsRefused(t *testing.T) {
	for _, cidr := range []string{"10.0.0.0/16", "127.0.0.0/7", "::1/128", "nonsense"} {
		_, err := localcluster.Start(context.Background(), &localcluster.Binaries{}, localcluster.Options{PodCIDR: cidr})
		if err == nil || !strings.Contains(err.Error(), "PodCIDR") {
			t.Errorf("PodCIDR %q: got %v, want an error naming PodCIDR", cidr, err)
		}
	}
}

// --- helpers

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func binaries(t *testing.T) *localcluster.Binaries {
	t.Helper()
	bins, err := localcluster.EnsureBinaries(context.Background(), testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	return bins
}

type command struct {
	cmd *exec.Cmd
}

func (c command) withStdin(s string) command {
	c.cmd.Stdin = strings.NewReader(s)
	return c
}

func (c command) run() (string, error) {
	out, err := c.cmd.CombinedOutput()
	return string(out), err
}

// kubectl returns a runner for the cluster's own kubectl.
func kubectl(t *testing.T) func(args ...string) command {
	bin := clustertest.Kubectl(t)
	kubeconfig := clustertest.Kubeconfig(t)
	return func(args ...string) command {
		return command{exec.Command(bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)}
	}
}

// processesUsing lists live processes whose command line mentions dir:
// every component of a cluster names its folder in its flags.
func processesUsing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || zombie(pid) {
			continue
		}
		if strings.Contains(string(cmdline), dir) {
			line := strings.ReplaceAll(string(cmdline), "\x00", " ")
			found = append(found, e.Name()+": "+line[:min(len(line), 100)])
		}
	}
	return found
}

func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// TestHoldNotReadyLabelKeepsPodPending: kwok makes ordinary pods Ready but
// leaves pods carrying HoldNotReadyLabel Pending.
func TestHoldNotReadyLabelKeepsPodPending(t *testing.T) {
	ns := clustertest.Namespace(t)
	cs := clustertest.Clientset(t)
	ctx := context.Background()
	pod := func(name string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app"}}},
		}
	}
	for _, p := range []*corev1.Pod{
		pod("held", map[string]string{localcluster.HoldNotReadyLabel: "true"}),
		pod("normal", nil),
	} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	scheduled := func(name string) func(ctx context.Context) (bool, string) {
		return func(ctx context.Context) (bool, string) {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return p.Spec.NodeName != "" && (name == "held" || podReady(p)), string(p.Status.Phase)
		}
	}
	clustertest.Eventually(t, 30*time.Second, "the normal pod to become Ready", scheduled("normal"))
	clustertest.Eventually(t, 30*time.Second, "the held pod to be scheduled", scheduled("held"))
	// Both pods sit on kwok nodes; kwok has handled the normal one, and it
	// handles pods in parallel, so the held one has been seen too.
	held, err := cs.CoreV1().Pods(ns).Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if podReady(held) || held.Status.Phase != corev1.PodPending {
		t.Errorf("held pod is %s (ready %v), want Pending and not ready", held.Status.Phase, podReady(held))
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
