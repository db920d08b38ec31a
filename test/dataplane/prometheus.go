package dataplane

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rampcd/ramp/test/daemon"
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
	proc *daemon.Process
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
	var err error
	p.proc, err = daemon.Start(ctx, "prometheus", p.bin, []string{
		"--config.file=" + filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(p.dir, "data"),
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(p.port),
		"--storage.tsdb.retention.time=1h",
	}, p.log, p.URL+"/-/ready", http.StatusOK)
	if err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	return nil
}

// Stop ends Prometheus and waits until it is gone.
func (p *Prometheus) Stop() error {
	p.proc.Stop()
	p.proc = nil
	return nil
}
