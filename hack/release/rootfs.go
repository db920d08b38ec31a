package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The image's layout, shared by the Go build and the Dockerfile.
const (
	// BinaryPath is where ramp lives in the image.
	BinaryPath = "/usr/local/bin/ramp"
	// UID and GID are the non-root user the controller runs as, the
	// distroless "nonroot" user.
	UID, GID = 65532, 65532
	// CertsPath is where Go (and most else) looks for CA certificates.
	CertsPath = "/etc/ssl/certs/ca-certificates.crt"
)

// Entrypoint runs the controller; a Deployment's args are its flags.
var Entrypoint = []string{BinaryPath, "controller"}

// file is one entry of the image's filesystem.
type file struct {
	path     string // absolute, slash-separated
	dir      bool
	mode     fs.FileMode
	uid, gid int
	data     []byte
}

// baseFiles are what a static Go binary needs around it, distroless-style:
// CA certificates for webhooks and metric providers over TLS, a passwd
// and group naming the non-root user, its home and a /tmp. No shell.
func baseFiles() []file {
	return []file{
		{path: "/etc", dir: true, mode: 0o755},
		{path: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{path: "/etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "/etc/ssl", dir: true, mode: 0o755},
		{path: "/etc/ssl/certs", dir: true, mode: 0o755},
		{path: CertsPath, mode: 0o644, data: caBundle()},
		{path: "/home", dir: true, mode: 0o755},
		{path: "/home/nonroot", dir: true, mode: 0o700, uid: UID, gid: GID},
		{path: "/tmp", dir: true, mode: 0o777 | fs.ModeSticky},
	}
}

// binaryFiles put ramp at BinaryPath.
func binaryFiles(binary []byte) []file {
	return []file{
		{path: "/usr", dir: true, mode: 0o755},
		{path: "/usr/local", dir: true, mode: 0o755},
		{path: "/usr/local/bin", dir: true, mode: 0o755},
		{path: BinaryPath, mode: 0o755, data: binary},
	}
}

func rootfsFiles(binary []byte) []file { return append(baseFiles(), binaryFiles(binary)...) }

// caBundle is the Mozilla (NSS) root store as pinned by Go's
// x509roots/fallback module: the same certificates on every machine that
// builds this commit, unlike the build machine's own. Roots that NSS trusts
// only with a constraint (a distrust-after date) are left out, since a PEM
// file cannot carry the constraint.
func caBundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return b.Bytes()
}

// layerTar writes files as a tar stream with every time set to created and
// no user or group names, so the same files always give the same bytes.
func layerTar(files []file, created time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{
			Name: path.Clean(f.path)[1:], Mode: int64(f.mode.Perm()), Uid: f.uid, Gid: f.gid,
			ModTime: created, Format: tar.FormatPAX,
		}
		if f.mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeRootfs writes files under dir, for a Dockerfile to copy into an
// empty image. Owners are set only where the process may (as root).
func writeRootfs(dir string, files []file) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		var err error
		if f.dir {
			err = os.MkdirAll(p, 0o755)
		} else {
			err = os.WriteFile(p, f.data, f.mode.Perm())
		}
		if err == nil {
			err = os.Chmod(p, f.mode)
		}
		if err == nil && os.Geteuid() == 0 {
			err = os.Lchown(p, f.uid, f.gid)
		}
		if err != nil {
			return fmt.Errorf("rootfs %s: %w", f.path, err)
		}
	}
	return nil
}
