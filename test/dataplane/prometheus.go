package dataplane

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rampcd/ramp/test/localcluster"
)

// Prometheus is a real Prometheus server, built from its Go module at the
// version test/localcluster pins, run on a loopback port and scraping the
// mesh and the pods of one namespace every second.
type Prometheus struct {
	URL  string
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  string
}

// StartPrometheus writes a config and starts Prometheus (building it on
// first use, which says so on stderr); it scrapes the mesh's metrics
// address and the pods listed in targetsFile. File discovery rather than
// Kubernetes discovery: the pods' servers run here, not where their pods'
// IPs say.
func StartPrometheus(ctx context.Context, dir, targetsFile, meshAddr string) (*Prometheus, error) {
	bin, err := localcluster.EnsurePrometheus(ctx, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: mesh
  static_configs: [{targets: [%q]}]
- job_name: pods
  file_sd_configs:
  - files: [%q]
    refresh_interval: 1s
`, meshAddr, targetsFile)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &Prometheus{URL: "http://127.0.0.1:" + strconv.Itoa(port), bin: bin, dir: dir, port: port, log: filepath.Join(dir, "prometheus.log")}
	return p, p.Start(ctx)
}

// Start runs Prometheus (again, after Stop) and waits until it is ready.
func (p *Prometheus) Start(ctx context.Context) error {
	logFile, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	p.cmd = exec.Command(p.bin,
		"--config.file="+filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(p.dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(p.port),
		"--storage.tsdb.retention.time=1h")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("dataplane: start prometheus: %w", err)
	}
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := http.Get(p.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("dataplane: prometheus exited during start; see %s", p.log)
		case <-deadline.C:
			return fmt.Errorf("dataplane: prometheus not ready after 30s; see %s", p.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Stop ends Prometheus and waits until it is gone.
func (p *Prometheus) Stop() error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
	return nil
}
