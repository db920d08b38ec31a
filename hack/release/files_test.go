package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestReleaseWorkflow: the workflow for tagged releases runs on v* tags,
// checks the tag against VERSION, runs `make release`, pushes the image
// layout that target wrote, and publishes dist.
func TestReleaseWorkflow(t *testing.T) {
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "release.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type trigger struct {
		Push struct{ Tags []string } `json:"push"`
	}
	var wf struct {
		On trigger `json:"on"`
		// YAML 1.1 reads the key on as true.
		True trigger `json:"true"`
		Jobs map[string]struct {
			Steps []struct {
				Name, Uses, Run string
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	if tags := append(wf.On.Push.Tags, wf.True.Push.Tags...); !slices.Contains(tags, "v*") {
		t.Errorf("the workflow runs on tags %v; want v*", tags)
	}
	var runs []string
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			runs = append(runs, s.Run)
		}
	}
	all := strings.Join(runs, "\n")
	for _, want := range []string{"cat VERSION", "make release", "hack/release push --layout dist/image", "gh release create"} {
		if !strings.Contains(all, want) {
			t.Errorf("the release workflow does not run %q", want)
		}
	}
	if i, j := strings.Index(all, "make release"), strings.Index(all, "hack/release push"); i > j {
		t.Error("the workflow pushes before make release")
	}
}

// TestDockerfile: the Dockerfile makes the image `make image` makes: the
// same rootfs (written by the same code), user, entrypoint and ports.
func TestDockerfile(t *testing.T) {
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string][]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			lines[f[0]] = append(lines[f[0]], strings.TrimSpace(strings.TrimPrefix(l, f[0])))
		}
	}
	wantEntry := "[" + strings.Join(quoteAll(Entrypoint), ", ") + "]"
	for _, tc := range []struct{ instr, want string }{
		{"FROM", "scratch"},
		{"USER", "65532:65532"},
		{"ENTRYPOINT", wantEntry},
		{"EXPOSE", "8080 8081 9443"},
		{"WORKDIR", "/home/nonroot"},
		{"ENV", "PATH=/usr/local/bin SSL_CERT_FILE=" + CertsPath},
	} {
		if !slices.Contains(lines[tc.instr], tc.want) {
			t.Errorf("Dockerfile %s %v; want %s %s", tc.instr, lines[tc.instr], tc.instr, tc.want)
		}
	}
	if !strings.Contains(string(data), "go run ./hack/release rootfs") || !strings.Contains(string(data), "CGO_ENABLED=0") {
		t.Error("the Dockerfile does not build a static binary and take its rootfs from hack/release rootfs")
	}
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = `"` + x + `"`
	}
	return out
}
