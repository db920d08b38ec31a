package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func testProject(t *testing.T) *project {
	t.Helper()
	return &project{version: "v1.2.3", revision: strings.Repeat("a", 40), created: time.Unix(1700000000, 0).UTC(), repository: DefaultRepository}
}

// fakeBinaries stands in for built binaries: the image code does not look
// inside them.
func fakeBinaries(t *testing.T, plats ...platform) *binaries {
	t.Helper()
	b := &binaries{dir: t.TempDir(), paths: map[platform]string{}, order: plats}
	for _, pl := range plats {
		b.paths[pl] = filepath.Join(b.dir, pl.os+"-"+pl.arch)
		if err := os.WriteFile(b.paths[pl], []byte("binary for "+pl.String()), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// TestImageDigestFollowsItsInputs: the same inputs give the same digest;
// any input that differs (binary, version, time) gives another.
func TestImageDigestFollowsItsInputs(t *testing.T) {
	plats := []platform{{"linux", "amd64"}, {"linux", "arm64"}}
	digest := func(p *project, b *binaries) string {
		d, err := p.writeImage(b, filepath.Join(t.TempDir(), "layout"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	p, bins := testProject(t), fakeBinaries(t, plats...)
	first := digest(p, bins)
	if again := digest(testProject(t), fakeBinaries(t, plats...)); again != first {
		t.Errorf("same inputs, digests %s and %s", first, again)
	}
	later := testProject(t)
	later.created = later.created.Add(time.Second)
	otherVersion := testProject(t)
	otherVersion.version = "v1.2.4"
	otherBinary := fakeBinaries(t, plats...)
	if err := os.WriteFile(otherBinary.paths[plats[1]], []byte("another build"), 0o755); err != nil {
		t.Fatal(err)
	}
	for what, d := range map[string]string{
		"a later commit time": digest(later, bins), "another version": digest(otherVersion, bins), "another binary": digest(p, otherBinary),
	} {
		if d == first {
			t.Errorf("%s left the digest at %s", what, d)
		}
	}
}

// TestImageFiles: the base layer holds a root store Go can load, the
// non-root user, and no shell; files keep their modes and owners.
func TestImageFiles(t *testing.T) {
	data, err := layerTar(rootfsFiles([]byte("bin")), time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	seen := map[string]*tar.Header{}
	contents := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = h
		contents[h.Name], _ = io.ReadAll(tr)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(contents["etc/ssl/certs/ca-certificates.crt"]) {
		t.Error("the CA bundle does not load")
	}
	for name, want := range map[string]struct {
		mode     int64
		uid, gid int
	}{
		"usr/local/bin/ramp": {0o755, 0, 0}, "home/nonroot/": {0o700, UID, GID}, "tmp/": {0o1777, 0, 0}, "etc/passwd": {0o644, 0, 0},
	} {
		h := seen[name]
		if h == nil {
			t.Errorf("no %s", name)
			continue
		}
		if h.Mode != want.mode || h.Uid != want.uid || h.Gid != want.gid {
			t.Errorf("%s: mode %o owner %d:%d; want %o %d:%d", name, h.Mode, h.Uid, h.Gid, want.mode, want.uid, want.gid)
		}
	}
	for name := range seen {
		if strings.HasPrefix(name, "bin/") || strings.HasSuffix(name, "/sh") {
			t.Errorf("the image has %s", name)
		}
	}
}

// TestWriteRootfs: the folder the Dockerfile copies holds the files of the
// image, byte for byte.
func TestWriteRootfs(t *testing.T) {
	dir := t.TempDir()
	files := rootfsFiles([]byte("the binary"))
	if err := writeRootfs(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		info, err := os.Stat(filepath.Join(dir, f.path))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != f.mode.Perm() || info.IsDir() != f.dir {
			t.Errorf("%s: %v; want %v", f.path, info.Mode(), f.mode)
		}
		if !f.dir {
			if data, _ := os.ReadFile(filepath.Join(dir, f.path)); !bytes.Equal(data, f.data) {
				t.Errorf("%s differs", f.path)
			}
		}
	}
}

// TestPush pushes a layout to a registry on loopback (go-containerregistry's
// own registry implementation) and pulls the index back by its tag.
func TestPush(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	p := testProject(t)
	layoutDir := filepath.Join(t.TempDir(), "layout")
	want, err := p.writeImage(fakeBinaries(t, platform{"linux", "amd64"}, platform{"linux", "arm64"}), layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(reg.URL, "http://") + "/rampcd/ramp:" + p.version
	got, err := push(t.Context(), layoutDir, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("pushed %s; the layout holds %s", got, want)
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(tag)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d.String() != want || len(m.Manifests) != 2 {
		t.Errorf("the registry serves %s with %d images; want %s with 2", d, len(m.Manifests), want)
	}
}
