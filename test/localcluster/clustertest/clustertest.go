// Package clustertest gives Go tests a real cluster: one per test binary (or
// the one `localcluster exec` names in RAMP_TEST_KUBECONFIG), and a fresh
// namespace per test. A test that needs the cluster never skips: when the
// cluster cannot start, the test binary fails with the reason.
//
//	func TestMain(m *testing.M) { clustertest.Main(m) }
//
//	func TestX(t *testing.T) {
//		ns := clustertest.Namespace(t)
//		c := clustertest.Client(t)
//		...
//	}
package clustertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rampcd/ramp/test/localcluster"
)

var shared struct {
	config     *rest.Config
	kubeconfig string
}

// Main runs the tests of one binary against the shared cluster and exits.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if path := os.Getenv(localcluster.KubeconfigEnv); path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "clustertest: %s=%s: %v\n", localcluster.KubeconfigEnv, path, err)
			return 1
		}
		shared.config, shared.kubeconfig = cfg, path
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	bins, err := localcluster.EnsureBinaries(ctx, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest: cannot build the local cluster:", err)
		return 1
	}
	c, err := localcluster.Start(context.Background(), bins, localcluster.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest: cannot start the local cluster:", err)
		return 1
	}
	shared.config, shared.kubeconfig = c.Config(), c.KubeconfigPath
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "clustertest: stopping the local cluster:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Config returns an admin REST config for the shared cluster.
func Config(t testing.TB) *rest.Config {
	t.Helper()
	if shared.config == nil {
		t.Fatal("clustertest: no cluster; call clustertest.Main(m) from TestMain")
	}
	cfg := rest.CopyConfig(shared.config)
	cfg.QPS, cfg.Burst = 200, 400
	return cfg
}

// Kubeconfig returns the path of the shared cluster's kubeconfig.
func Kubeconfig(t testing.TB) string {
	Config(t)
	return shared.kubeconfig
}

// Kubectl returns the path of a kubectl of the cluster's version, built on
// first use (a few minutes cold; parallel callers wait for one build).
func Kubectl(t testing.TB) string {
	t.Helper()
	bin, err := localcluster.EnsureKubectl(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Clientset returns a typed client for the shared cluster.
func Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Namespace creates a namespace for this test, named after it, and deletes
// it when the test ends.
func Namespace(t testing.TB) string {
	t.Helper()
	cs := Clientset(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: namePrefix(t.Name())}}
	created, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("clustertest: create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})
	return created.Name
}

// namePrefix turns a test name into a valid GenerateName prefix.
func namePrefix(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		s = "test"
	}
	return s + "-"
}

// Eventually polls check until it reports done, failing the test with the
// last state check described when timeout passes. Checks get a context
// that outlives the timeout a little, so that the last one completes and
// says where things stood.
func Eventually(t testing.TB, timeout time.Duration, what string, check func(ctx context.Context) (done bool, state string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		done, state := check(ctx)
		if done {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, state)
		case <-tick.C:
		}
	}
}
