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
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rampcd/ramp/test/daemon"
	"github.com/rampcd/ramp/test/localcluster"
)

// Server is a running VictoriaMetrics.
type Server struct {
	URL  string
	proc *daemon.Process
}

// Start runs VictoriaMetrics with its data in dir (building it on first
// use, which says so on stderr) and waits until it is ready.
func Start(ctx context.Context, dir string) (*Server, error) {
	bin, err := localcluster.EnsureVictoriaMetrics(ctx, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	addr, err := daemon.FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + addr}
	s.proc, err = daemon.Start(ctx, "victoria-metrics", bin, []string{
		"-httpListenAddr=" + addr,
		"-storageDataPath=" + filepath.Join(dir, "data"),
		"-retentionPeriod=100y",
		"-storage.minFreeDiskSpaceBytes=0",
	}, filepath.Join(dir, "victoria-metrics.log"), s.URL+"/health", http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	return s, nil
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
func (s *Server) Stop() { s.proc.Stop() }
