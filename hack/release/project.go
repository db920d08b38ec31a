package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultRepository is where Ramp's image is published.
const DefaultRepository = "ghcr.io/rampcd/ramp"

// SourceURL is the project's source, for the image's labels and krew.
const SourceURL = "https://github.com/rampcd/ramp"

// versionPattern is a release version: v, then SemVer.
var versionPattern = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$`)

// project is the checkout a release is made from.
type project struct {
	root string
	// version is the VERSION file's, the one version of everything.
	version string
	// revision is the commit built, with "-dirty" when the tree is not
	// clean (a build of uncommitted work must not pass for the commit).
	revision string
	// created is the commit's time: every timestamp in the artifacts, so
	// that the same commit gives the same bytes.
	created time.Time
	// repository is the image repository the artifacts name.
	repository string
}

// openProject finds the checkout around the working directory and reads its
// version and commit.
func openProject(ctx context.Context, repository string) (*project, error) {
	root, err := findRoot()
	if err != nil {
		return nil, err
	}
	version, err := ReadVersion(root)
	if err != nil {
		return nil, err
	}
	p := &project{root: root, version: version, repository: repository}
	rev, err := p.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("release: the commit to build: %w", err)
	}
	status, err := p.git(ctx, "status", "--porcelain")
	if err != nil {
		return nil, err
	}
	p.revision = rev
	if status != "" {
		p.revision += "-dirty"
	}
	ts, err := p.git(ctx, "log", "-1", "--format=%ct")
	if err != nil {
		return nil, err
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("release: commit time %q: %w", ts, err)
	}
	p.created = time.Unix(sec, 0).UTC()
	return p, nil
}

// ReadVersion reads the VERSION file at the checkout's root.
func ReadVersion(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	v := strings.TrimSpace(string(data))
	if !versionPattern.MatchString(v) {
		return "", fmt.Errorf("release: VERSION holds %q; write a SemVer version with a leading v, e.g. v0.2.0", v)
	}
	return v, nil
}

// chartVersion is the Helm chart's version: the release's, without the v.
func (p *project) chartVersion() string { return strings.TrimPrefix(p.version, "v") }

// imageRef names the image at a digest, with its tag for people.
func (p *project) imageRef(digest string) string {
	return p.repository + ":" + p.version + "@" + digest
}

// ldflags stamp the version into `ramp version`.
func (p *project) ldflags() string {
	return "-s -w -X github.com/rampcd/ramp/internal/cli.Version=" + p.version
}

func (p *project) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = p.root
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, exit.Stderr)
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// findRoot walks up from the working directory to Ramp's go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/rampcd/ramp\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("release: run inside a checkout of Ramp")
		}
		dir = parent
	}
}
