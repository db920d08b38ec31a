package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// versionFiles are the files that name Ramp's version, beside VERSION.
var versionFiles = []string{"VERSION", "config/manager/kustomization.yaml", "charts/ramp/Chart.yaml", "charts/ramp/values.yaml"}

// versionMismatches says where the files disagree with VERSION: the
// kustomize image override, the chart's version and appVersion, and the
// chart's image (whose tag must default to the appVersion).
func versionMismatches(files map[string][]byte) []string {
	version := strings.TrimSpace(string(files["VERSION"]))
	var kust struct {
		Images []struct{ Name, NewName, NewTag string } `json:"images"`
	}
	var chart struct{ Version, AppVersion string }
	var values struct {
		Image struct{ Repository, Tag, Digest string } `json:"image"`
	}
	var out []string
	for name, into := range map[string]any{"config/manager/kustomization.yaml": &kust, "charts/ramp/Chart.yaml": &chart, "charts/ramp/values.yaml": &values} {
		if err := yaml.Unmarshal(files[name], into); err != nil {
			out = append(out, name+": "+err.Error())
		}
	}
	if len(kust.Images) != 1 || kust.Images[0].NewName != DefaultRepository || kust.Images[0].NewTag != version {
		out = append(out, "config/manager/kustomization.yaml: images should set "+DefaultRepository+":"+version)
	}
	if chart.AppVersion != version || chart.Version != strings.TrimPrefix(version, "v") {
		out = append(out, "charts/ramp/Chart.yaml: version "+chart.Version+", appVersion "+chart.AppVersion+"; want "+strings.TrimPrefix(version, "v")+" and "+version)
	}
	if values.Image.Repository != DefaultRepository || values.Image.Tag != "" || values.Image.Digest != "" {
		out = append(out, "charts/ramp/values.yaml: image should be "+DefaultRepository+` with tag "" (the appVersion) and no digest (a release pins it)`)
	}
	return out
}

func readVersionFiles(t *testing.T) map[string][]byte {
	t.Helper()
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range versionFiles {
		if files[f], err = os.ReadFile(filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// TestOneVersion: VERSION is the one place the version is written; the
// image override, the chart and the image tag follow it.
func TestOneVersion(t *testing.T) {
	files := readVersionFiles(t)
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadVersion(root); err != nil {
		t.Fatal(err)
	}
	for _, m := range versionMismatches(files) {
		t.Errorf("%s (VERSION says %s)", m, strings.TrimSpace(string(files["VERSION"])))
	}
}

// TestVersionMismatchesAreFound is the negative control of TestOneVersion:
// each file moved off the version is reported.
func TestVersionMismatchesAreFound(t *testing.T) {
	for _, tc := range []struct{ file, from, to string }{
		{"VERSION", "v", "v9."},
		{"config/manager/kustomization.yaml", "newTag: v", "newTag: v9."},
		{"charts/ramp/Chart.yaml", "appVersion: v", "appVersion: v9."},
		{"charts/ramp/Chart.yaml", "\nversion: ", "\nversion: 9."},
		{"charts/ramp/values.yaml", `tag: ""`, `tag: "v0.0.1"`},
	} {
		files := readVersionFiles(t)
		if !strings.Contains(string(files[tc.file]), tc.from) {
			t.Fatalf("%s has no %q to change", tc.file, tc.from)
		}
		files[tc.file] = []byte(strings.Replace(string(files[tc.file]), tc.from, tc.to, 1))
		if len(versionMismatches(files)) == 0 {
			t.Errorf("%s with %q: no mismatch found", tc.file, tc.to)
		}
	}
}

func TestReadVersion(t *testing.T) {
	for _, tc := range []struct {
		content string
		ok      bool
	}{
		{"v0.2.0\n", true}, {"v1.10.3-rc.1", true}, {"0.2.0", false}, {"v0.2", false}, {"", false}, {"v01.2.3", false},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadVersion(dir); (err == nil) != tc.ok {
			t.Errorf("VERSION %q: err %v", tc.content, err)
		}
	}
}
