package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// release builds every artifact into out: see the release command's help.
func (p *project) release(ctx context.Context, plats []platform, out string, log io.Writer) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	bins, err := p.buildAll(ctx, plats, os.TempDir(), log)
	if err != nil {
		return err
	}
	defer bins.remove()

	readme, err := os.ReadFile(filepath.Join(p.root, "README.md"))
	if err != nil {
		return err
	}
	var archives []krewArchive
	for _, pl := range plats {
		ext := ".tar.gz"
		if pl.os == "windows" {
			ext = ".zip"
		}
		name := fmt.Sprintf("ramp_%s_%s_%s%s", p.version, pl.os, pl.arch, ext)
		bin, err := os.ReadFile(bins.paths[pl])
		if err != nil {
			return err
		}
		path := filepath.Join(out, name)
		if err := writeArchive(path, []member{{pl.exe(), 0o755, bin}, {"README.md", 0o644, readme}}, p.created); err != nil {
			return err
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return err
		}
		archives = append(archives, krewArchive{platform: pl, name: name, sha256: sum})
		if err := p.sbom(ctx, bins.paths[pl], strings.TrimSuffix(path, ext)+".cdx.json"); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "release: %d CLI archives, each with its SBOM\n", len(archives))

	layoutDir := filepath.Join(out, "image")
	digest, err := p.writeImage(bins, layoutDir)
	if err != nil {
		return err
	}
	if err := tarDir(layoutDir, filepath.Join(out, "ramp_"+p.version+"_image.oci.tar"), p.created); err != nil {
		return err
	}
	ref := p.imageRef(digest)
	fmt.Fprintf(log, "release: image %s\n", ref)

	crds, err := p.crdsManifest()
	if err != nil {
		return err
	}
	install, err := p.installManifest(ref)
	if err != nil {
		return err
	}
	krew, err := p.krewManifest(archives)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"crds.yaml": crds, "install.yaml": install, "ramp.krew.yaml": krew, "image-digest.txt": []byte(ref + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
	}
	if _, err := p.packageChart(digest, out); err != nil {
		return err
	}
	if err := writeChecksums(out); err != nil {
		return err
	}
	fmt.Fprintf(log, "release: %s ready in %s (checksums.txt lists every file)\n", p.version, out)
	return nil
}

// writeChecksums writes checksums.txt, in sha256sum's format, for every
// file directly in dir.
func writeChecksums(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var lines []string
	for _, e := range entries {
		if e.IsDir() || e.Name() == "checksums.txt" {
			continue
		}
		sum, err := fileSHA256(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+e.Name()+"\n")
	}
	slices.Sort(lines)
	return os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(strings.Join(lines, "")), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
