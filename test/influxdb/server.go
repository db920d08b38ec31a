// Package influxdb runs a real InfluxDB server for tests: influxd 1.8,
// built from its Go module at the version test/localcluster pins, on a
// loopback port, with Flux on (it serves InfluxQL at /query and Flux at
// /api/v2/query) and its usage reporting off.
package influxdb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/rampcd/ramp/test/daemon"
	"github.com/rampcd/ramp/test/localcluster"
)

// Server is a running influxd.
type Server struct {
	URL  string
	proc *daemon.Process
}

// Start runs influxd with its data in dir (building it on first use,
// which says so on stderr) and waits until it answers.
func Start(ctx context.Context, dir string) (*Server, error) {
	bin, err := localcluster.EnsureInfluxDB(ctx, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("influxdb: %w", err)
	}
	httpAddr, err := daemon.FreeAddr()
	if err != nil {
		return nil, err
	}
	rpcAddr, err := daemon.FreeAddr()
	if err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = %q
  flux-enabled = true
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
`, rpcAddr, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpAddr)
	path := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + httpAddr}
	s.proc, err = daemon.Start(ctx, "influxd", bin, []string{"-config", path}, filepath.Join(dir, "influxd.log"), s.URL+"/ping", http.StatusNoContent)
	if err != nil {
		return nil, fmt.Errorf("influxdb: %w", err)
	}
	return s, nil
}

// CreateDatabase creates a database.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	return s.post(ctx, "/query", "application/x-www-form-urlencoded", url.Values{"q": {"CREATE DATABASE " + name}}.Encode())
}

// Write stores points in line protocol
// (measurement,tag=value field=value unix-nanoseconds) in a database.
func (s *Server) Write(ctx context.Context, db string, lines ...string) error {
	return s.post(ctx, "/write?db="+url.QueryEscape(db), "text/plain", strings.Join(lines, "\n"))
}

func (s *Server) post(ctx context.Context, path, contentType, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("influxdb: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("influxdb: POST %s: %s: %s", path, resp.Status, msg)
	}
	return nil
}

// Stop ends the server and waits until it is gone.
func (s *Server) Stop() { s.proc.Stop() }
