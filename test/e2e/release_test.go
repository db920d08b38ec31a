package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// What TestImage checks of the release artifacts.

// checkChecksums verifies checksums.txt lists every file of dist, rightly.
func checkChecksums(t *testing.T, dist string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("checksums.txt line %q", line)
		}
		listed[name] = true
		if got := fileSum(t, filepath.Join(dist, name)); got != sum {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", name, got, sum)
		}
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && e.Name() != "checksums.txt" && !listed[e.Name()] {
			t.Errorf("checksums.txt lacks %s", e.Name())
		}
	}
	for _, want := range []string{"crds.yaml", "install.yaml", "ramp.krew.yaml"} {
		if !listed[want] {
			t.Errorf("the release lacks %s", want)
		}
	}
}

// checkKrew reads the krew manifest: a platform per archive, its checksum
// right, and the binary in the archive the very one in the image.
func checkKrew(t *testing.T, dist, version string, images map[string]*imageView) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dist, "ramp.krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var plugin struct {
		APIVersion, Kind string
		Metadata         struct{ Name string }
		Spec             struct {
			Version, Homepage, ShortDescription, Description string
			Platforms                                        []struct {
				Selector         struct{ MatchLabels map[string]string } `json:"selector"`
				URI, SHA256, Bin string
			}
		}
	}
	if err := yaml.UnmarshalStrict(data, &plugin); err != nil {
		t.Fatalf("ramp.krew.yaml: %v", err)
	}
	if plugin.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || plugin.Kind != "Plugin" ||
		plugin.Metadata.Name != "ramp" || plugin.Spec.Version != version || plugin.Spec.ShortDescription == "" {
		t.Errorf("krew manifest %+v", plugin)
	}
	if len(plugin.Spec.Platforms) != len(images) {
		t.Errorf("krew lists %d platforms; the release built %d", len(plugin.Spec.Platforms), len(images))
	}
	for _, p := range plugin.Spec.Platforms {
		plat := p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
		name := fmt.Sprintf("ramp_%s_%s_%s.tar.gz", version, p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"])
		if p.URI != "https://github.com/rampcd/ramp/releases/download/"+version+"/"+name || p.Bin != "ramp" {
			t.Errorf("%s: uri %s bin %s", plat, p.URI, p.Bin)
		}
		if got := fileSum(t, filepath.Join(dist, name)); got != p.SHA256 {
			t.Errorf("%s: krew says sha256 %s, the archive has %s", plat, p.SHA256, got)
		}
		bin := archiveMember(t, filepath.Join(dist, name), "ramp")
		if img := images[plat]; img == nil || !bytes.Equal(bin, img.files[img.entrypoint[0]]) {
			t.Errorf("%s: the CLI archive's binary is not the image's", plat)
		}
	}
}

// checkSBOM reads a CycloneDX SBOM: it must name ramp and its modules.
func checkSBOM(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct{ Name, Version string } `json:"component"`
		} `json:"metadata"`
		Components []struct{ Name, Version string } `json:"components"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	found := false
	for _, c := range bom.Components {
		found = found || c.Name == "sigs.k8s.io/controller-runtime"
	}
	if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Name != "github.com/rampcd/ramp" || !found {
		t.Errorf("%s: format %q, component %+v, %d components (controller-runtime among them: %v)",
			filepath.Base(path), bom.BOMFormat, bom.Metadata.Component, len(bom.Components), found)
	}
}

func archiveMember(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no %s: %v", path, name, err)
		}
		if h.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
