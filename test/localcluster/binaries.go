package localcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/sync/errgroup"
)

// Binaries are the paths of the cluster's programs, built from the tools
// modules and cached by version.
type Binaries struct {
	Etcd              string
	APIServer         string
	ControllerManager string
	Scheduler         string
	Kwok              string
	// KwokStages is the folder holding the kwok Stage configs shipped with
	// the pinned kwok module.
	KwokStages string
	// CRDs are the router CRD manifests (Gateway API, Istio) taken from the
	// pinned modules.
	CRDs string
	// KubernetesVersion is the version the control plane reports, e.g. "v1.37.2".
	KubernetesVersion string
}

// ToolsDir is where the tools modules live: beside this file in a checkout
// of Ramp, or where RAMP_LOCALCLUSTER_TOOLS points.
func ToolsDir() (string, error) {
	if dir := os.Getenv("RAMP_LOCALCLUSTER_TOOLS"); dir != "" {
		return dir, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if ok {
		dir := filepath.Join(filepath.Dir(file), "tools")
		if _, err := os.Stat(filepath.Join(dir, "kube", "go.mod")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("localcluster: cannot find the tools modules (test/localcluster/tools); " +
		"run from a checkout of Ramp or set RAMP_LOCALCLUSTER_TOOLS")
}

// RepoDir is the root of the Ramp checkout the tools modules belong to.
func RepoDir() (string, error) {
	tools, err := ToolsDir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(tools, "..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("localcluster: %s is not in a checkout of Ramp", tools)
	}
	return filepath.Clean(root), nil
}

// CacheDir is where built binaries are kept between runs: the user cache
// directory, or RAMP_LOCALCLUSTER_CACHE.
func CacheDir() (string, error) {
	if dir := os.Getenv("RAMP_LOCALCLUSTER_CACHE"); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("localcluster: no user cache dir (set RAMP_LOCALCLUSTER_CACHE): %w", err)
	}
	return filepath.Join(base, "ramp", "localcluster"), nil
}

// EnsureBinaries returns the cluster's binaries, building those whose pinned
// version is not in the cache yet. Progress lines go to log. Concurrent
// callers (parallel test binaries) wait for each other's builds.
func EnsureBinaries(ctx context.Context, log io.Writer) (*Binaries, error) {
	if log == nil {
		log = io.Discard
	}
	tools, err := ToolsDir()
	if err != nil {
		return nil, err
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	versions := map[string]string{}
	// The modules build side by side (one build's single-threaded link
	// leaves a core to the others), but a module that shares another's
	// dependencies waits for it, to reuse its compiled packages.
	var (
		mu    sync.Mutex
		g     errgroup.Group
		built = map[string]chan struct{}{}
	)
	for _, m := range toolModules {
		built[m.name] = make(chan struct{})
	}
	for _, m := range toolModules {
		g.Go(func() error {
			defer close(built[m.name])
			if m.after != "" {
				<-built[m.after]
			}
			dir, version, err := ensureModule(ctx, m, tools, cache, log)
			mu.Lock()
			defer mu.Unlock()
			dirs[m.name], versions[m.name] = dir, version
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return &Binaries{
		Etcd:              filepath.Join(dirs["etcd"], "etcd"),
		APIServer:         filepath.Join(dirs["kube"], "kube-apiserver"),
		ControllerManager: filepath.Join(dirs["kube"], "kube-controller-manager"),
		Scheduler:         filepath.Join(dirs["kube"], "kube-scheduler"),
		Kwok:              filepath.Join(dirs["kwok"], "kwok"),
		KwokStages:        filepath.Join(dirs["kwok"], "stages"),
		CRDs:              filepath.Join(dirs["crds"], "crds"),
		KubernetesVersion: versions["kube"],
	}, nil
}

// gcflags and the linker's -s -w trade what a test cluster does not need for
// build time: -l (no inlining) cuts compile time by a fifth at little cost to
// speed; -dwarf=false and -s -w skip debug information, which the compiler
// and the linker would otherwise produce only to throw away.
const gcflags = "all=-l -dwarf=false"

// entry is the cache folder of one tools module's build. Its name carries
// the pinned version and a hash of go.mod, go.sum, the Go version and the
// build flags, so any change to a pin rebuilds it.
func entry(m toolModule, tools, cache string) (dir, version, moduleDir string, err error) {
	moduleDir = filepath.Join(tools, m.name)
	if m.dir != "" {
		moduleDir = filepath.Join(tools, m.dir)
	}
	gomod, err := os.ReadFile(filepath.Join(moduleDir, "go.mod"))
	if err != nil {
		return "", "", "", fmt.Errorf("localcluster: tools module %s: %w", m.name, err)
	}
	gosum, err := os.ReadFile(filepath.Join(moduleDir, "go.sum"))
	if err != nil {
		return "", "", "", fmt.Errorf("localcluster: tools module %s: %w", m.name, err)
	}
	version, err = pinnedVersion(gomod, m.pin)
	if err != nil {
		return "", "", "", fmt.Errorf("localcluster: tools module %s: %w", m.name, err)
	}
	h := sha256.New()
	parts := [][]byte{gomod, gosum, []byte(runtime.Version()), []byte(ldflags(m, version)), []byte(gcflags)}
	if m.tags != "" { // only then: the entries of modules without tags keep their names
		parts = append(parts, []byte(m.tags))
	}
	for _, part := range parts {
		h.Write(part)
		h.Write([]byte{0})
	}
	dir = filepath.Join(cache, fmt.Sprintf("%s-%s-%s", m.name, version, hex.EncodeToString(h.Sum(nil))[:12]))
	return dir, version, moduleDir, nil
}

func ldflags(m toolModule, version string) string {
	if m.ldflags == nil {
		return ""
	}
	return m.ldflags(version)
}

// BinariesCached reports whether the cluster's binaries for the pinned
// versions are built, so that starting a cluster takes seconds.
func BinariesCached() bool {
	tools, err := ToolsDir()
	if err != nil {
		return false
	}
	cache, err := CacheDir()
	if err != nil {
		return false
	}
	for _, m := range toolModules {
		dir, _, _, err := entry(m, tools, cache)
		if err != nil {
			return false
		}
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
			return false
		}
	}
	return true
}

// ensureModule builds one tools module into its cache entry unless the entry
// is complete.
func ensureModule(ctx context.Context, m toolModule, tools, cache string, log io.Writer) (dir, version string, err error) {
	dir, version, moduleDir, err := entry(m, tools, cache)
	if err != nil {
		return "", "", err
	}
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir, version, nil
	}

	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, m.name+".lock"))
	if err != nil {
		return "", "", err
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil { // built by another process meanwhile
		return dir, version, nil
	}

	fmt.Fprintf(log, "localcluster: building %s %s (first use of this version; %s) ...\n", m.name, version, buildHint(m.name))
	start := time.Now()
	tmp, err := os.MkdirTemp(cache, ".build-"+m.name+"-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	for bin, pkg := range m.commands {
		args := []string{"build", "-trimpath", "-gcflags", gcflags, "-o", filepath.Join(tmp, bin), "-ldflags", strings.TrimSpace("-s -w " + ldflags(m, version))}
		if m.tags != "" {
			args = append(args, "-tags", m.tags)
		}
		args = append(args, pkg)
		if _, err := goOutput(ctx, moduleDir, args...); err != nil {
			return "", "", fmt.Errorf("localcluster: building %s: %w", bin, err)
		}
	}
	if m.extra != nil {
		if err := m.extra(ctx, moduleDir, tmp); err != nil {
			return "", "", fmt.Errorf("localcluster: preparing %s: %w", m.name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(version+"\n"), 0o644); err != nil {
		return "", "", err
	}
	_ = os.RemoveAll(dir) // a partial entry from an interrupted build
	if err := os.Rename(tmp, dir); err != nil {
		return "", "", err
	}
	fmt.Fprintf(log, "localcluster: built %s %s in %s\n", m.name, version, time.Since(start).Round(time.Second))
	return dir, version, nil
}

func buildHint(name string) string {
	switch name {
	case "kube":
		return "about 13 minutes on 2 cores; etcd alongside, kwok after"
	case "kubectl":
		return "under a minute once the cluster's binaries are built"
	case "prometheus":
		return "one to three minutes on 2 cores"
	case "victoriametrics":
		return "about a minute on 2 cores"
	case "influxdb":
		return "about a minute on 2 cores"
	case "argorollouts":
		return "a download of its source, seconds"
	}
	return "a few minutes"
}

// EnsureKubectl returns the path of a kubectl of the control plane's version,
// building it on first use.
func EnsureKubectl(ctx context.Context, log io.Writer) (string, error) {
	return ensureCommand(ctx, kubectlModule, "kubectl", log)
}

// EnsurePrometheus returns the path of the pinned Prometheus server,
// building it on first use.
func EnsurePrometheus(ctx context.Context, log io.Writer) (string, error) {
	return ensureCommand(ctx, prometheusModule, "prometheus", log)
}

// EnsureVictoriaMetrics returns the path of the pinned VictoriaMetrics
// server, building it on first use.
func EnsureVictoriaMetrics(ctx context.Context, log io.Writer) (string, error) {
	return ensureCommand(ctx, victoriaMetricsModule, "victoria-metrics", log)
}

// EnsureInfluxDB returns the path of the pinned InfluxDB server, building
// it on first use.
func EnsureInfluxDB(ctx context.Context, log io.Writer) (string, error) {
	return ensureCommand(ctx, influxDBModule, "influxd", log)
}

// EnsureArgoRolloutsCRDs returns the folder of Argo Rollouts' CRD
// manifests, at the pinned release, fetching them on first use.
func EnsureArgoRolloutsCRDs(ctx context.Context, log io.Writer) (string, error) {
	return ensureCommand(ctx, argoRolloutsModule, "crds", log)
}

// ensureCommand returns the path of one command of a tools module built
// apart from the cluster's, building the module on first use.
func ensureCommand(ctx context.Context, m toolModule, command string, log io.Writer) (string, error) {
	if log == nil {
		log = io.Discard
	}
	tools, err := ToolsDir()
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir, _, err := ensureModule(ctx, m, tools, cache, log)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, command), nil
}

// pinnedVersion reads the required version of module path from go.mod.
func pinnedVersion(gomod []byte, path string) (string, error) {
	f, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		return "", err
	}
	for _, r := range f.Require {
		if r.Mod.Path == path {
			return r.Mod.Version, nil
		}
	}
	return "", fmt.Errorf("go.mod does not require %s", path)
}

// goOutput runs the go command in dir and returns its trimmed stdout; on
// failure the error carries stderr.
func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	// The tools modules are built as they are pinned, whatever the caller's
	// workspace or flags say.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
	// A test binary killed by its timeout takes its build with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// lockFile takes an exclusive flock on path, waiting until ctx is done.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("localcluster: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("localcluster: waiting for another build (%s): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
