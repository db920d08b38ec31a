package localcluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// starter brings the components up in order, each once the one it needs
// is ready.
type starter struct {
	c    *Cluster
	bins *Binaries
	opts Options
	pki  *pki
	cs   kubernetes.Interface
	crds []string // names of the CRDs installed
}

func (s *starter) run(ctx context.Context) error {
	var err error
	begin := time.Now()
	if s.pki, err = generatePKI(filepath.Join(s.c.Dir, "pki")); err != nil {
		return fmt.Errorf("localcluster: PKI: %w", err)
	}
	if err := s.writeKubeconfig(); err != nil {
		return err
	}
	if s.c.config, err = clientcmd.BuildConfigFromFlags("", s.c.KubeconfigPath); err != nil {
		return err
	}
	s.c.config.QPS, s.c.config.Burst = 200, 400
	if s.cs, err = kubernetes.NewForConfig(s.c.config); err != nil {
		return err
	}

	if err := s.start("etcd", s.bins.Etcd, s.etcdArgs()); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "etcd health", []string{"etcd"}, s.etcdHealthy); err != nil {
		return err
	}
	audit, err := s.auditArgs()
	if err != nil {
		return err
	}
	if err := s.start("kube-apiserver", s.bins.APIServer, append(s.apiserverArgs(), audit...)); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "kube-apiserver readyz", []string{"kube-apiserver"}, s.apiserverReady); err != nil {
		return err
	}
	// CRDs go in before the controller manager starts, so that its garbage
	// collector knows their kinds from the start instead of after its next
	// discovery resync (30 s).
	if err := s.installCRDs(ctx); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "CRDs established", []string{"kube-apiserver"}, s.crdsEstablished); err != nil {
		return err
	}
	if err := s.start("kube-controller-manager", s.bins.ControllerManager, s.controllerManagerArgs()); err != nil {
		return err
	}
	if err := s.start("kube-scheduler", s.bins.Scheduler, s.schedulerArgs()); err != nil {
		return err
	}
	kwokArgs, err := s.kwokArgs()
	if err != nil {
		return err
	}
	if err := s.start("kwok", s.bins.Kwok, kwokArgs); err != nil {
		return err
	}
	if err := s.createNodes(ctx); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "kube-scheduler healthz", []string{"kube-scheduler"}, s.healthz(s.c.Ports.Scheduler)); err != nil {
		return err
	}
	if err := s.waitFor(ctx, fmt.Sprintf("%d nodes Ready", s.opts.Nodes), []string{"kwok", "kube-controller-manager"}, s.nodesReady); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "the default ServiceAccount", []string{"kube-controller-manager"}, s.defaultServiceAccount); err != nil {
		return err
	}
	fmt.Fprintf(s.opts.Log, "localcluster: %s ready in %s (kubeconfig %s)\n",
		s.c.Version, time.Since(begin).Round(100*time.Millisecond), s.c.KubeconfigPath)
	return nil
}

func (s *starter) start(name, bin string, args []string) error {
	fmt.Fprintf(s.opts.Log, "localcluster: starting %s\n", name)
	p, err := startProcess(name, bin, args, s.c.LogDir(), s.opts.Detach)
	if err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	s.c.Processes = append(s.c.Processes, p)
	return nil
}

// waitFor polls check until it reports done. It fails at once when any
// component has exited, and at the deadline; both errors name the
// component to blame and end with its log.
func (s *starter) waitFor(ctx context.Context, what string, blame []string, check func(context.Context) (bool, string)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		for _, p := range s.c.Processes {
			if gone, exitErr := p.hasExited(); gone {
				return fmt.Errorf("localcluster: %s exited during start-up (%v) while waiting for %s; its log %s ends with:\n%s",
					p.Name, exitErr, what, p.Log, tail(p.Log, 20))
			}
		}
		done, state := check(ctx)
		if done {
			return nil
		}
		last = state
		select {
		case <-ctx.Done():
			var logs []string
			for _, name := range blame {
				for _, p := range s.c.Processes {
					if p.Name == name {
						logs = append(logs, fmt.Sprintf("--- %s (log %s) ends with:\n%s", name, p.Log, tail(p.Log, 20)))
					}
				}
			}
			return fmt.Errorf("localcluster: timed out after %s waiting for %s (%s); look at %s:\n%s",
				s.opts.ReadyTimeout, what, last, strings.Join(blame, " and "), strings.Join(logs, "\n"))
		case <-tick.C:
		}
	}
}

// tail returns the last n lines of a log file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func (s *starter) etcdHealthy(ctx context.Context) (bool, string) {
	return httpOK(ctx, http.DefaultClient, url(s.c.Ports.EtcdClient)+"/health")
}

func (s *starter) apiserverReady(ctx context.Context) (bool, string) {
	body, err := s.cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return false, err.Error()
	}
	return strings.TrimSpace(string(body)) == "ok", string(body)
}

// healthz probes a component's own secure port. Its serving certificate is
// self-signed in memory, so it is not verified: this only asks "are you up".
func (s *starter) healthz(port int) func(context.Context) (bool, string) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback health probe
	return func(ctx context.Context) (bool, string) {
		return httpOK(ctx, client, "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz")
	}
}

func httpOK(ctx context.Context, client *http.Client, u string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.Status
}

func (s *starter) writeKubeconfig() error {
	ca, err := os.ReadFile(s.pki.CACert)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(s.pki.AdminCert)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(s.pki.AdminKey)
	if err != nil {
		return err
	}
	const name = "ramp-localcluster"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   "https://127.0.0.1:" + strconv.Itoa(s.c.Ports.APIServer),
		CertificateAuthorityData: ca,
	}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	cfg.CurrentContext = name
	return clientcmd.WriteToFile(*cfg, s.c.KubeconfigPath)
}
