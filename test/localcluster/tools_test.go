package localcluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// TestKwokSharesKubeDependencies: the kwok tools module requires every
// module it shares with the kube tools module at kube's version or newer,
// so that kwok, built after kube, reuses kube's compiled packages. A
// module left older would be compiled twice, minutes of a cold build.
func TestKwokSharesKubeDependencies(t *testing.T) {
	read := func(name string) *modfile.File {
		t.Helper()
		path := filepath.Join("tools", name, "go.mod")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return parseMod(t, path, string(data))
	}
	if stale := olderShared(read("kube"), read("kwok")); len(stale) > 0 {
		t.Errorf("tools/kwok requires modules older than tools/kube does; align them:\n  cd test/localcluster/tools/kwok && go get %s && go mod tidy",
			strings.Join(stale, " "))
	}

	// The check itself sees versions pinned by replace, and newer ones pass.
	kube := parseMod(t, "kube", "module k\nrequire (\n\tk8s.io/api v0.0.0\n\tgolang.org/x/net v0.57.0\n)\nreplace k8s.io/api => k8s.io/api v0.37.2\n")
	kwok := parseMod(t, "kwok", "module w\nrequire (\n\tk8s.io/api v0.36.1\n\tgolang.org/x/net v0.60.0\n\tgithub.com/creack/pty v1.1.24\n)\n")
	if got := olderShared(kube, kwok); !slices.Equal(got, []string{"k8s.io/api@v0.37.2"}) {
		t.Errorf("olderShared = %v, want [k8s.io/api@v0.37.2]", got)
	}
}

// olderShared lists, as path@version, the modules other requires at an
// older version than kube.
func olderShared(kube, other *modfile.File) []string {
	versions := map[string]string{}
	for _, r := range kube.Require {
		versions[r.Mod.Path] = r.Mod.Version
	}
	for _, r := range kube.Replace { // kube's staging modules, pinned by replace
		if r.New.Version != "" {
			versions[r.Old.Path] = r.New.Version
		}
	}
	var stale []string
	for _, r := range other.Require {
		if v, ok := versions[r.Mod.Path]; ok && semver.Compare(r.Mod.Version, v) < 0 {
			stale = append(stale, r.Mod.Path+"@"+v)
		}
	}
	return stale
}

func parseMod(t *testing.T, name, data string) *modfile.File {
	t.Helper()
	f, err := modfile.Parse(name, []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
