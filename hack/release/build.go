package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// platform is a GOOS/GOARCH pair.
type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }

// exe is the binary's file name on the platform.
func (p platform) exe() string {
	if p.os == "windows" {
		return "ramp.exe"
	}
	return "ramp"
}

// defaultReleasePlatforms are those of the CLI; the linux ones make the image.
var defaultReleasePlatforms = []string{
	"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64",
}

func parsePlatforms(list []string, linuxOnly bool) ([]platform, error) {
	var out []platform
	for _, s := range list {
		goos, arch, ok := strings.Cut(s, "/")
		if !ok || goos == "" || arch == "" {
			return nil, fmt.Errorf("platform %q: write OS/ARCH, e.g. linux/amd64", s)
		}
		if linuxOnly && goos != "linux" {
			return nil, fmt.Errorf("platform %q: the image runs on linux only", s)
		}
		p := platform{goos, arch}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no platform given")
	}
	return out, nil
}

// binaries are built ramp binaries by platform, in a temporary folder.
type binaries struct {
	dir   string
	paths map[platform]string
	order []platform // as asked
}

func (b *binaries) remove() { _ = os.RemoveAll(b.dir) }

// buildAll cross-compiles cmd/ramp for each platform, two at a time.
func (p *project) buildAll(ctx context.Context, plats []platform, tmp string, log io.Writer) (*binaries, error) {
	dir, err := os.MkdirTemp(tmp, "ramp-release-")
	if err != nil {
		return nil, err
	}
	b := &binaries{dir: dir, paths: map[platform]string{}, order: plats}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for _, pl := range plats {
		out := filepath.Join(dir, pl.os+"-"+pl.arch, pl.exe())
		b.paths[pl] = out
		g.Go(func() error { return p.build(ctx, pl, out, log) })
	}
	if err := g.Wait(); err != nil {
		b.remove()
		return nil, err
	}
	return b, nil
}

// build compiles a static, trimmed ramp for one platform, its version
// stamped in. The same commit and Go version give the same bytes.
func (p *project) build(ctx context.Context, pl platform, out string, log io.Writer) error {
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", p.ldflags(), "-o", out, "./cmd/ramp")
	cmd.Dir = p.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+pl.os, "GOARCH="+pl.arch, "GOFLAGS=-mod=readonly")
	if data, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/ramp for %s: %w\n%s", pl, err, data)
	}
	fmt.Fprintf(log, "release: built ramp %s for %s in %s\n", p.version, pl, time.Since(start).Round(time.Second))
	return nil
}
