package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Why go-containerregistry and not ko: ko builds on a base image it pulls
// from a registry, and adds its own layout (/ko-app, its own labels). Ramp's
// image has no base: two layers written here (CA certificates and users;
// the binary), whose every byte follows from the commit, so the digest does
// too, and the build needs nothing but the Go module proxy.

// Labels are the OCI annotations the image's config and index carry.
func (p *project) labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "ramp",
		"org.opencontainers.image.description": "Progressive canary delivery for Kubernetes: the controller",
		"org.opencontainers.image.source":      SourceURL,
		"org.opencontainers.image.url":         SourceURL,
		"org.opencontainers.image.version":     p.version,
		"org.opencontainers.image.revision":    p.revision,
		"org.opencontainers.image.created":     p.created.Format("2006-01-02T15:04:05Z"),
	}
}

// image builds one platform's image around its ramp binary.
func (p *project) image(pl platform, binary []byte) (v1.Image, error) {
	created := v1.Time{Time: p.created}
	var layers []v1.Layer
	var history []v1.History
	for _, part := range []struct {
		files []file
		what  string
	}{
		{baseFiles(), "CA certificates, the nonroot user (65532), /tmp"},
		{binaryFiles(binary), "ramp " + p.version + " at " + BinaryPath},
	} {
		data, err := layerTar(part.files, p.created)
		if err != nil {
			return nil, err
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
		history = append(history, v1.History{Created: created, CreatedBy: "hack/release: " + part.what, Comment: SourceURL})
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created, cfg.History = pl.os, pl.arch, created, history
	cfg.Config = v1.Config{
		User:         strconv.Itoa(UID) + ":" + strconv.Itoa(GID),
		Entrypoint:   Entrypoint,
		Env:          []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + CertsPath},
		WorkingDir:   "/home/nonroot",
		Labels:       p.labels(),
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "8081/tcp": {}, "9443/tcp": {}},
	}
	return mutate.ConfigFile(img, cfg)
}

// index puts the platforms' images in one OCI image index, in the order
// given.
func (p *project) index(bins *binaries, plats []platform) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pl := range plats {
		data, err := os.ReadFile(bins.paths[pl])
		if err != nil {
			return nil, err
		}
		img, err := p.image(pl, data)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", pl, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: pl.os, Architecture: pl.arch}},
		})
	}
	return mutate.Annotations(idx, p.labels()).(v1.ImageIndex), nil
}

// linuxPlatforms are the image's platforms among plats.
func linuxPlatforms(plats []platform) []platform {
	var out []platform
	for _, pl := range plats {
		if pl.os == "linux" {
			out = append(out, pl)
		}
	}
	return out
}

// writeImage writes the image index of the linux binaries into a fresh OCI
// layout at dir, tagged with the version, and returns its digest.
func (p *project) writeImage(bins *binaries, dir string) (string, error) {
	plats := linuxPlatforms(bins.order)
	if len(plats) == 0 {
		return "", fmt.Errorf("no linux platform to make the image of")
	}
	idx, err := p.index(bins, plats)
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": p.version,
	})); err != nil {
		return "", err
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}
