package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The tools modules: what each pins, builds and copies.

// toolModule is one Go module under tools/ that pins a component.
type toolModule struct {
	name     string            // names the cache entry and, unless dir is set, the folder under tools/
	dir      string            // folder under tools/, when it differs from name
	pin      string            // the module whose version names the cache entry
	commands map[string]string // binary name -> package
	// ldflags returns the linker flags for the pinned version; the
	// Kubernetes binaries need their version stamped in, or clients
	// cannot parse what the server reports.
	ldflags func(version string) string
	// extra copies files the cluster needs besides binaries (kwok's Stage
	// configs) into the cache entry.
	extra func(ctx context.Context, moduleDir, dest string) error
	// tags are build tags for the commands.
	tags string
	// after names a module to build first: this one shares its
	// dependencies at the same versions, so it reuses their compiled
	// packages instead of compiling them a second time alongside.
	after string
}

var toolModules = []toolModule{
	{
		name: "etcd",
		pin:  "go.etcd.io/etcd/server/v3",
		commands: map[string]string{
			"etcd": "go.etcd.io/etcd/server/v3",
		},
	},
	{
		name: "kube",
		pin:  "k8s.io/kubernetes",
		commands: map[string]string{
			"kube-apiserver":          "k8s.io/kubernetes/cmd/kube-apiserver",
			"kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
			"kube-scheduler":          "k8s.io/kubernetes/cmd/kube-scheduler",
		},
		ldflags: kubeLDFlags,
	},
	{
		name: "kwok",
		pin:  "sigs.k8s.io/kwok",
		commands: map[string]string{
			"kwok": "sigs.k8s.io/kwok/cmd/kwok",
		},
		extra: copyKwokStages,
		after: "kube",
	},
	{
		name:  "crds",
		pin:   "sigs.k8s.io/gateway-api",
		extra: copyRouterCRDs,
	},
}

// kubectlModule builds kubectl from the same pins as the control plane. It is
// built on first use, not with the cluster: only some tests and people at a
// terminal need it, and it is a tenth of the cold build.
var kubectlModule = toolModule{
	name:     "kubectl",
	dir:      "kube",
	pin:      "k8s.io/kubernetes",
	commands: map[string]string{"kubectl": "k8s.io/kubernetes/cmd/kubectl"},
	ldflags:  kubeLDFlags,
}

// prometheusModule builds the Prometheus server the demo, the analysis tests
// and the benchmarks run, on first use: a machine needs no package for it.
// remove_all_sd leaves out the cloud service discoveries (file and static
// targets stay), which halves the build.
var prometheusModule = toolModule{
	name:     "prometheus",
	pin:      "github.com/prometheus/prometheus",
	commands: map[string]string{"prometheus": "github.com/prometheus/prometheus/cmd/prometheus"},
	ldflags:  prometheusLDFlags,
	tags:     "remove_all_sd",
}

// victoriaMetricsModule builds the VictoriaMetrics server whose Graphite
// render API the Graphite provider's tests query, on first use.
// Graphite's own servers (carbonapi, go-carbon) are not served by the Go
// module proxy; VictoriaMetrics implements the same render API.
var victoriaMetricsModule = toolModule{
	name:     "victoriametrics",
	pin:      "github.com/VictoriaMetrics/VictoriaMetrics",
	commands: map[string]string{"victoria-metrics": "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics"},
}

// influxDBModule builds the InfluxDB server whose InfluxQL and Flux APIs
// the InfluxDB provider's tests query, on first use.
var influxDBModule = toolModule{
	name:     "influxdb",
	pin:      "github.com/influxdata/influxdb",
	commands: map[string]string{"influxd": "github.com/influxdata/influxdb/cmd/influxd"},
}

// argoRolloutsModule keeps Argo Rollouts' CRDs, which the tests of Ramp
// beside Argo Rollouts and of migrating from it install: nothing is built.
var argoRolloutsModule = toolModule{
	name:  "argorollouts",
	pin:   "github.com/argoproj/argo-rollouts",
	extra: copyArgoRolloutsCRDs,
}

// copyArgoRolloutsCRDs keeps the CRDs of the kinds Argo Rollouts serves.
func copyArgoRolloutsCRDs(ctx context.Context, moduleDir, dest string) error {
	dir, err := moduleSource(ctx, moduleDir, "github.com/argoproj/argo-rollouts")
	if err != nil {
		return err
	}
	var files []string
	for _, kind := range []string{"rollout", "analysis-run", "analysis-template", "cluster-analysis-template", "experiment"} {
		files = append(files, "manifests/crds/"+kind+"-crd.yaml")
	}
	return copyFiles(dir, files, filepath.Join(dest, "crds"))
}

// prometheusLDFlags stamps the release a module version stands for:
// module v0.316.0 is Prometheus 3.16.0.
func prometheusLDFlags(version string) string {
	release := version
	if parts := strings.SplitN(strings.TrimPrefix(version, "v0."), ".", 2); len(parts) == 2 {
		if n, err := strconv.Atoi(parts[0]); err == nil {
			release = fmt.Sprintf("%d.%d.%s", n/100, n%100, parts[1])
		}
	}
	return "-X github.com/prometheus/common/version.Version=" + release +
		" -X github.com/prometheus/common/version.Branch=HEAD" +
		" -X github.com/prometheus/common/version.BuildDate=19700101-00:00:00"
}

// kubeLDFlags stamps the version into every place kube binaries read it from.
func kubeLDFlags(version string) string {
	major, minor := "", ""
	if parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	var flags []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X "+pkg+".gitVersion="+version,
			"-X "+pkg+".gitMajor="+major,
			"-X "+pkg+".gitMinor="+minor,
			"-X "+pkg+".gitTreeState=clean",
			"-X "+pkg+".buildDate=1970-01-01T00:00:00Z",
		)
	}
	return strings.Join(flags, " ")
}

// kwokStageFiles are the Stage configs the cluster uses, relative to the
// kwok module: nodes become Ready and keep heartbeating, pods become Ready
// (with an IP from the pod CIDR), Job pods complete, deleted pods go away.
var kwokStageFiles = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat/node-heartbeat.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

func copyKwokStages(ctx context.Context, moduleDir, dest string) error {
	dir, err := moduleSource(ctx, moduleDir, "sigs.k8s.io/kwok")
	if err != nil {
		return err
	}
	return copyFiles(dir, kwokStageFiles, filepath.Join(dest, "stages"))
}

// copyRouterCRDs keeps the CRDs of the routers Ramp drives: Gateway API's
// standard channel and Istio's networking APIs.
func copyRouterCRDs(ctx context.Context, moduleDir, dest string) error {
	gw, err := moduleSource(ctx, moduleDir, "sigs.k8s.io/gateway-api")
	if err != nil {
		return err
	}
	gwFiles, err := filepath.Glob(filepath.Join(gw, "config/crd/standard/gateway.networking.k8s.io_*routes.yaml"))
	if err != nil {
		return err
	}
	for _, f := range []string{"gatewayclasses", "gateways", "referencegrants"} {
		gwFiles = append(gwFiles, filepath.Join(gw, "config/crd/standard/gateway.networking.k8s.io_"+f+".yaml"))
	}
	for i, f := range gwFiles {
		gwFiles[i], _ = filepath.Rel(gw, f)
	}
	if err := copyFiles(gw, gwFiles, filepath.Join(dest, "crds")); err != nil {
		return err
	}
	istio, err := moduleSource(ctx, moduleDir, "istio.io/api")
	if err != nil {
		return err
	}
	return copyFiles(istio, []string{"kubernetes/customresourcedefinitions.gen.yaml"}, filepath.Join(dest, "crds", "istio"))
}

// moduleSource returns the folder of a module's source, downloading it
// through the module proxy if needed.
func moduleSource(ctx context.Context, moduleDir, path string) (string, error) {
	if _, err := goOutput(ctx, moduleDir, "mod", "download", path); err != nil {
		return "", err
	}
	return goOutput(ctx, moduleDir, "list", "-m", "-f", "{{.Dir}}", path)
}

func copyFiles(srcDir string, files []string, dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(srcDir, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dest, filepath.Base(f)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
