package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
)

// TestImage builds the controller's image as `make image` and `make
// release` do, reads it back with the library that wrote it, checks what a
// registry and a kubelet would see (platforms, user, entrypoint, labels,
// files), and then runs the amd64 binary taken out of its layers the way
// the shipped Deployment runs it, with the shipped rights, through one
// canary to promotion. install.yaml and the chart of the release must name
// that exact image, by digest.
func TestImage(t *testing.T) {
	t.Parallel()
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	version, err := os.ReadFile(filepath.Join(repo, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(version))
	tmp := t.TempDir()
	dist := filepath.Join(tmp, "dist")
	// The release's platforms are the image's: the two builds are shared
	// with `image` below through Go's build cache.
	releaseTool(t, repo, "release", "--platforms", "linux/amd64,linux/arm64", "-o", dist)
	ref := strings.TrimSpace(releaseTool(t, repo, "image", "-o", filepath.Join(tmp, "image")))
	if !strings.HasPrefix(ref, "ghcr.io/rampcd/ramp:"+v+"@sha256:") {
		t.Fatalf("make image printed %q; want ghcr.io/rampcd/ramp:%s@sha256:...", ref, v)
	}
	digest := ref[strings.Index(ref, "@")+1:]

	t.Run("reproducible", func(t *testing.T) {
		released, err := os.ReadFile(filepath.Join(dist, "image-digest.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(released)); got != ref {
			t.Errorf("two builds of one commit: %s and %s", got, ref)
		}
	})

	images := readImage(t, filepath.Join(dist, "image"), digest)
	if got := slices.Sorted(maps.Keys(images)); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("platforms %v", got)
	}
	for plat, img := range images {
		t.Run(plat, func(t *testing.T) { img.check(t, v, plat) })
	}

	t.Run("release artifacts", func(t *testing.T) {
		checkChecksums(t, dist)
		checkKrew(t, dist, v, images)
		for _, plat := range []string{"linux_amd64", "linux_arm64"} {
			checkSBOM(t, filepath.Join(dist, "ramp_"+v+"_"+plat+".cdx.json"))
		}
		install, err := os.ReadFile(filepath.Join(dist, "install.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if c := controllerContainer(t, objects(t, install)); c["image"] != ref {
			t.Errorf("install.yaml runs %v; want %s", c["image"], ref)
		}
		chart := renderChartAt(t, filepath.Join(dist, "ramp-"+strings.TrimPrefix(v, "v")+".tgz"), nil)
		if c := controllerContainer(t, chart); c["image"] != ref {
			t.Errorf("the release's chart runs %v; want %s", c["image"], ref)
		}
	})

	t.Run("runs as deployed", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "ramp")
		if err := os.WriteFile(bin, images["linux/amd64"].files[images["linux/amd64"].entrypoint[0]], 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "ramp "+v+" ") {
			t.Errorf("ramp version from the image: %q, %v; want ramp %s", out, err, v)
		}
		install, err := os.ReadFile(filepath.Join(dist, "install.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		e := fixture.New(t)
		args := asDeployed(t, controllerContainer(t, objects(t, install)), e.NS)
		args = append(args, "--kubeconfig", serviceAccountKubeconfig(t, e), "--watch-namespace", e.NS)
		ctrl := e.StartProcess(bin, append(images["linux/amd64"].entrypoint[1:], args...)...)
		ro := e.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.SetWeight(50))
		e.Route(ro, fixture.SMI)
		e.Create(ro)
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
		e.SetImage("web", "web:v2")
		e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:0 2:4"}, fixture.Wait)
		if log, _ := os.ReadFile(ctrl.Log); bytes.Contains(bytes.ToLower(log), []byte("forbidden")) {
			t.Errorf("the image's controller was refused something with the shipped rights; log %s", ctrl.Log)
		}
	})
}

// releaseTool runs hack/release, as the Makefile's image and release
// targets do, and returns its standard output.
func releaseTool(t *testing.T, repo string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", "./hack/release"}, args...)...)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./hack/release %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	t.Logf("hack/release %s:\n%s", args[0], stderr.String())
	return string(out)
}

// imageView is one platform's image as read back: its config and the
// files of its flattened layers.
type imageView struct {
	user, workdir string
	entrypoint    []string
	labels        map[string]string
	os, arch      string
	files         map[string][]byte // by absolute path; folders absent
	modes         map[string]int64
	owners        map[string]string // "uid:gid"
}

// readImage opens an OCI layout, checks it holds one image index of the
// given digest, and reads each platform's image.
func readImage(t *testing.T, dir, digest string) map[string]*imageView {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Digest.String() != digest {
		t.Fatalf("the layout holds %+v; want one image index %s", tm.Manifests, digest)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*imageView{}
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if m.Platform == nil || m.Platform.OS != cfg.OS || m.Platform.Architecture != cfg.Architecture {
			t.Errorf("index entry %s says platform %+v, its config %s/%s", m.Digest, m.Platform, cfg.OS, cfg.Architecture)
		}
		v := &imageView{
			user: cfg.Config.User, workdir: cfg.Config.WorkingDir, entrypoint: cfg.Config.Entrypoint, labels: cfg.Config.Labels,
			os: cfg.OS, arch: cfg.Architecture, files: map[string][]byte{}, modes: map[string]int64{}, owners: map[string]string{},
		}
		rc := mutate.Extract(img)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			p := "/" + strings.TrimSuffix(h.Name, "/")
			v.modes[p], v.owners[p] = h.Mode, fmt.Sprintf("%d:%d", h.Uid, h.Gid)
			if h.Typeflag == tar.TypeReg {
				if v.files[p], err = io.ReadAll(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
		out[cfg.OS+"/"+cfg.Architecture] = v
	}
	return out
}

// check is what a registry, a scanner and a kubelet would see.
func (v *imageView) check(t *testing.T, version, plat string) {
	if v.user != "65532:65532" {
		t.Errorf("user %q; want the non-root 65532:65532", v.user)
	}
	if !slices.Equal(v.entrypoint, []string{"/usr/local/bin/ramp", "controller"}) {
		t.Errorf("entrypoint %q; want ramp controller", v.entrypoint)
	}
	for key, want := range map[string]string{
		"org.opencontainers.image.version": version,
		"org.opencontainers.image.source":  "https://github.com/rampcd/ramp",
	} {
		if v.labels[key] != want {
			t.Errorf("label %s = %q; want %q", key, v.labels[key], want)
		}
	}
	if r := v.labels["org.opencontainers.image.revision"]; len(strings.TrimSuffix(r, "-dirty")) != 40 {
		t.Errorf("label revision = %q; want a commit", r)
	}
	for _, shell := range []string{"/bin/sh", "/bin/bash", "/usr/bin/sh", "/bin/busybox"} {
		if _, ok := v.modes[shell]; ok {
			t.Errorf("the image has %s; it must have no shell", shell)
		}
	}
	if !strings.Contains(string(v.files["/etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd names no user 65532:\n%s", v.files["/etc/passwd"])
	}
	if v.owners[v.workdir] != "65532:65532" {
		t.Errorf("working dir %s owned by %s", v.workdir, v.owners[v.workdir])
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(v.files["/etc/ssl/certs/ca-certificates.crt"]) || len(bytes.Split(v.files["/etc/ssl/certs/ca-certificates.crt"], []byte("BEGIN CERTIFICATE"))) < 100 {
		t.Errorf("/etc/ssl/certs/ca-certificates.crt holds no root store")
	}

	bin := v.files[v.entrypoint[0]]
	if v.modes[v.entrypoint[0]]&0o111 == 0 {
		t.Errorf("%s is not executable (mode %o)", v.entrypoint[0], v.modes[v.entrypoint[0]])
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: %v", v.entrypoint[0], err)
	}
	machine := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[plat]
	if f.Machine != machine {
		t.Errorf("the binary is for %v; want %v", f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary wants a dynamic loader; an image with no libc needs a static one")
		}
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// Go records no -ldflags under -trimpath; the version stamped by them
	// is checked by running the amd64 binary (ramp version).
	if info.Path != "github.com/rampcd/ramp/cmd/ramp" || settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" ||
		!bytes.Contains(bin, []byte(version)) {
		t.Errorf("built as %s with %v", info.Path, settings)
	}
}

// controllerContainer finds the controller's container in rendered objects.
func controllerContainer(t *testing.T, objs map[string]*unstructured.Unstructured) map[string]any {
	t.Helper()
	d := objs["Deployment ramp-system/ramp-controller"]
	if d == nil {
		t.Fatal("no Deployment ramp-system/ramp-controller")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		if c.(map[string]any)["name"] == "controller" {
			return c.(map[string]any)
		}
	}
	t.Fatal("no container named controller")
	return nil
}

// asDeployed returns the Deployment's args for a process on this machine:
// servers on loopback ports of its own, leader election in the test's
// namespace; every other flag as shipped.
func asDeployed(t *testing.T, container map[string]any, ns string) []string {
	t.Helper()
	var args []string
	for _, a := range container["args"].([]any) {
		arg := a.(string)
		name, _, _ := strings.Cut(arg, "=")
		switch name {
		case "--metrics-bind-address", "--health-probe-bind-address", "--callback-bind-address", "--admission-bind-address":
			arg = name + "=127.0.0.1:0"
		case "--leader-election-namespace", "--admission-namespace":
			arg = name + "=" + ns
		case "controller":
			t.Errorf("the Deployment's args start with %q: the image's entrypoint says it already", arg)
		}
		args = append(args, arg)
	}
	return args
}
