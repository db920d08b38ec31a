// Package graphite runs a real Graphite render API for tests: the
// VictoriaMetrics single-node server, built from its Go module at the
// version test/localcluster pins, on a loopback port. VictoriaMetrics
// serves Graphite's /render (format=json) over what it stores; points are
// pushed through its import API and flushed, so that they are queryable
// at once.
package graphite

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rampcd/ramp/test/localcluster"
)

// Server is a running VictoriaMetrics.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// Start runs VictoriaMetrics with its data in dir (building it on first
// use, which says so on stderr) and waits until it is ready.
func Start(ctx context.Context, dir string) (*Server, error) {
	bin, err := localcluster.EnsureVictoriaMetrics(ctx, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{URL: "http://" + addr, done: make(chan struct{}), log: filepath.Join(dir, "victoria-metrics.log")}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(dir, "data"),
		"-retentionPeriod=100y",
		"-storage.minFreeDiskSpaceBytes=0")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("graphite: start victoria-metrics: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := http.Get(s.URL + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("graphite: victoria-metrics exited during start; see %s", s.log)
		case <-deadline.C:
			s.Stop()
			return nil, fmt.Errorf("graphite: victoria-metrics not ready after 30s; see %s", s.log)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// Point is one value of a Graphite series at a time.
type Point struct {
	Path  string // e.g. web.canary.errors
	Value float64
	At    time.Time
}

// Push stores points and makes them queryable at once.
func (s *Server) Push(ctx context.Context, points ...Point) error {
	var b strings.Builder
	for _, p := range points {
		fmt.Fprintf(&b, "%s %s %d\n", p.Path, strconv.FormatFloat(p.Value, 'g', -1, 64), p.At.UnixMilli())
	}
	if err := s.call(ctx, http.MethodPost, "/api/v1/import/prometheus", b.String()); err != nil {
		return err
	}
	return s.call(ctx, http.MethodGet, "/internal/force_flush", "")
}

func (s *Server) call(ctx context.Context, method, path, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("graphite: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("graphite: %s %s: %s: %s", method, path, resp.Status, msg)
	}
	return nil
}

// Stop ends the server and waits until it is gone.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
