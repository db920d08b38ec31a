// Package localcluster runs a real Kubernetes control plane on loopback with
// no containers: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler built from their Go modules, and kwok faking nodes and pod
// status. Every pod IP is a loopback address, so tests can run a real
// process for a pod on its IP.
//
// Ramp's tests, benchmarks and demo run against it; see DESIGN.md, "Testing
// on a real cluster, with no containers".
package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Defaults for Options.
const (
	DefaultNodes   = 3
	DefaultPodCIDR = "127.1.0.0/16"
	// serviceCIDR holds ClusterIPs. Nothing connects to them (there is no
	// kube-proxy), and it stays on loopback like everything else.
	serviceCIDR = "127.240.0.0/16"

	stateFile = "cluster.json"

	// KubeconfigEnv names a running cluster's kubeconfig; Ramp's tests use
	// that cluster instead of starting their own (`localcluster exec`
	// sets it).
	KubeconfigEnv = "RAMP_TEST_KUBECONFIG"
)

// Options configure a cluster. The zero value is a 3-node cluster in a fresh
// temporary folder with ports chosen at start.
type Options struct {
	// Dir holds the cluster's PKI, etcd data, logs and kubeconfig. Empty
	// means a new temporary folder.
	Dir string
	// Nodes is the number of kwok nodes (default 3).
	Nodes int
	// PodCIDR is where pod IPs come from; it must lie in 127.0.0.0/8.
	PodCIDR string
	// ReadyTimeout bounds the start, binaries excluded (default 2 minutes).
	ReadyTimeout time.Duration
	// Ports pins ports on 127.0.0.1; zero fields are chosen free at start.
	Ports Ports
	// Detach leaves the processes running after this process exits
	// (`localcluster up`); otherwise they die with it.
	Detach bool
	// Log receives progress lines (default: discarded).
	Log io.Writer
	// AuditWrites makes kube-apiserver record every write request (who,
	// what, when, answer; no bodies) in AuditLog, one JSON event a line.
	AuditWrites bool
	// ArgoRollouts also installs Argo Rollouts' CRDs (argoproj.io), for
	// the tests of Ramp beside it and of migrating from it.
	ArgoRollouts bool
}

// Ports are the loopback ports of the components.
type Ports struct {
	EtcdClient        int `json:"etcdClient"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
}

// Cluster is a running local control plane.
type Cluster struct {
	Dir            string     `json:"dir"`
	KubeconfigPath string     `json:"kubeconfig"`
	Version        string     `json:"version"`
	PodCIDR        string     `json:"podCIDR"`
	Ports          Ports      `json:"ports"`
	Processes      []*process `json:"processes"`

	config *rest.Config
}

// Config returns a REST config with admin rights on the cluster.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

// PIDs returns the process IDs of every component.
func (c *Cluster) PIDs() []int {
	pids := make([]int, 0, len(c.Processes))
	for _, p := range c.Processes {
		pids = append(pids, p.PID)
	}
	return pids
}

// LogDir is the folder holding one log file per component.
func (c *Cluster) LogDir() string { return filepath.Join(c.Dir, "logs") }

// AuditLog is kube-apiserver's audit log (written with AuditWrites).
func (c *Cluster) AuditLog() string { return filepath.Join(c.LogDir(), "audit.log") }

// Stop ends every process the cluster started (newest first, by PID) and
// removes its folder.
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(c.Processes) - 1; i >= 0; i-- {
		if err := c.Processes[i].stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	return errors.Join(errs...)
}

// Restart stops one component (SIGTERM, then SIGKILL after 10 s) and
// starts it again with the same arguments, as an operator restarting it
// would. It returns once the new process runs, not once it is ready. Only
// for a cluster this process started (not one attached to).
func (c *Cluster) Restart(name string) error {
	for i, p := range c.Processes {
		if p.Name != name {
			continue
		}
		if p.cmd == nil {
			return fmt.Errorf("localcluster: %s was not started by this process; restart it by hand", name)
		}
		if err := p.stop(10 * time.Second); err != nil {
			return err
		}
		np, err := startProcess(name, p.cmd.Path, p.cmd.Args[1:], c.LogDir(), false)
		if err != nil {
			return fmt.Errorf("localcluster: restart %w", err)
		}
		c.Processes[i] = np
		return c.saveState()
	}
	return fmt.Errorf("localcluster: no component %q", name)
}

// Attach returns the cluster that `localcluster up` left running in dir.
func Attach(dir string) (*Cluster, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("localcluster: no cluster in %s: %w", dir, err)
	}
	c := &Cluster{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("localcluster: %s: %w", filepath.Join(dir, stateFile), err)
	}
	c.config, err = clientcmd.BuildConfigFromFlags("", c.KubeconfigPath)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Start brings up a cluster and waits until it is ready: the API server
// answers readyz, every node is Ready, the default ServiceAccount exists and
// the router CRDs are established. On failure nothing it started is left
// running, the component logs stay in Dir/logs, and the error names the
// failing component and its log.
func Start(ctx context.Context, bins *Binaries, opts Options) (_ *Cluster, err error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Nodes == 0 {
		opts.Nodes = DefaultNodes
	}
	if opts.PodCIDR == "" {
		opts.PodCIDR = DefaultPodCIDR
	}
	if err := checkLoopbackCIDR(opts.PodCIDR); err != nil {
		return nil, fmt.Errorf("localcluster: Options.PodCIDR: %w", err)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 2 * time.Minute
	}
	if opts.Dir == "" {
		if opts.Dir, err = os.MkdirTemp("", "ramp-localcluster-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	ports, err := choosePorts(opts.Ports)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Dir:            opts.Dir,
		KubeconfigPath: filepath.Join(opts.Dir, "kubeconfig"),
		Version:        bins.KubernetesVersion,
		PodCIDR:        opts.PodCIDR,
		Ports:          ports,
	}
	defer func() {
		if err != nil {
			c.abandon()
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancel()
	s := &starter{c: c, bins: bins, opts: opts}
	if err := s.run(ctx); err != nil {
		return nil, err
	}
	if err := c.saveState(); err != nil {
		return nil, err
	}
	return c, nil
}

// abandon ends what a failed start left running and removes everything but
// the logs, which the error points at.
func (c *Cluster) abandon() {
	for i := len(c.Processes) - 1; i >= 0; i-- {
		_ = c.Processes[i].stop(5 * time.Second)
	}
	entries, _ := os.ReadDir(c.Dir)
	for _, e := range entries {
		if e.Name() != "logs" {
			_ = os.RemoveAll(filepath.Join(c.Dir, e.Name()))
		}
	}
}

func (c *Cluster) saveState() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, stateFile), data, 0o644)
}

func choosePorts(p Ports) (Ports, error) {
	all := []*int{&p.EtcdClient, &p.EtcdPeer, &p.APIServer, &p.ControllerManager, &p.Scheduler}
	taken := map[int]bool{}
	for _, port := range all {
		taken[*port] = *port != 0
	}
	for _, port := range all {
		for *port == 0 {
			free, err := freePort()
			if err != nil {
				return p, fmt.Errorf("localcluster: no free port on 127.0.0.1: %w", err)
			}
			if !taken[free] {
				*port, taken[free] = free, true
			}
		}
	}
	return p, nil
}

func url(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// Running reports whether every component of the cluster is still alive.
func (c *Cluster) Running() bool {
	for _, p := range c.Processes {
		if gone, _ := p.hasExited(); gone {
			return false
		}
	}
	return len(c.Processes) > 0
}
