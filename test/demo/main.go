// Command demo is the README's main command (`make demo`): it brings up the
// local cluster, runs Ramp's controller on it, and tells the scenario's
// story (package scenario): demo-app v2 promoted through an SMI canary
// checked on Prometheus, v3 rolled back by its own metrics.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/rampcd/ramp/internal/dashboard"
	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/test/demo/scenario"
	"github.com/rampcd/ramp/test/localcluster"
)

func main() {
	keep := flag.Bool("keep", false, "leave the cluster running at the end and print how to use it")
	dash := flag.String("dashboard", "", "also serve the web dashboard during the demo on this loopback address, e.g. 127.0.0.1:8089")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *keep, *dash); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool, dash string) error {
	start := time.Now()
	out := os.Stdout
	if !localcluster.BinariesCached() {
		say("First run: building the local cluster's binaries (etcd, Kubernetes, kwok) and Prometheus from")
		say("their Go modules. That takes about 15 minutes on 2 cores, once; later runs start in seconds.")
	}
	bins, err := localcluster.EnsureBinaries(ctx, out)
	if err != nil {
		return err
	}
	if _, err := localcluster.EnsurePrometheus(ctx, out); err != nil {
		return err
	}
	say("Bringing up the local cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok.")
	opts := localcluster.Options{Log: out, Detach: keep}
	if keep {
		opts.Dir = "/tmp/ramp-demo"
		_ = os.RemoveAll(opts.Dir)
	}
	cluster, err := localcluster.Start(ctx, bins, opts)
	if err != nil {
		return err
	}
	if !keep {
		defer cluster.Stop()
	}

	say("Starting Ramp's controller against it (CRDs installed with the cluster).")
	ctrl.SetLogger(zap.New(zap.WriteTo(discard{})))
	mctx, stopController := context.WithCancel(ctx)
	defer stopController()
	go func() {
		err := manager.Run(mctx, cluster.Config(), manager.Options{MetricsAddr: "0", ProbeAddr: "0", Concurrency: 2, CallbackAddr: "127.0.0.1:0"})
		if err != nil {
			fmt.Fprintln(os.Stderr, "controller:", err)
		}
	}()

	if dash != "" {
		if err := serveDashboard(mctx, cluster.Config(), dash); err != nil {
			return err
		}
	}

	report, err := scenario.Run(ctx, scenario.Options{
		Config: cluster.Config(), Kubeconfig: cluster.KubeconfigPath, Namespace: "default",
		Rate: 200, Window: "30s", Lag: scenario.DemoLag, Out: out, Live: term.IsTerminal(int(out.Fd())),
	})
	if err != nil {
		return err
	}
	report.Print(out)
	say("\nThe demo took %s.", time.Since(start).Round(time.Second))
	if !report.V2.Promoted() || report.V3.Promoted() || report.V3.FailedCheck == nil || report.V2.Failed+report.V3.Failed > 0 {
		return fmt.Errorf("the story did not end as told: v2 promoted %v, v3 rolled back by its analysis %v, %d requests failed",
			report.V2.Promoted(), !report.V3.Promoted() && report.V3.FailedCheck != nil, report.V2.Failed+report.V3.Failed)
	}
	if keep {
		stopController()
		kubectl, err := localcluster.EnsureKubectl(ctx, out)
		if err != nil {
			return err
		}
		say("\nThe cluster keeps running (the controller, mesh and Prometheus stopped with the demo):")
		say("  export KUBECONFIG=%s", cluster.KubeconfigPath)
		say("  %s get rollouts,replicasets,trafficsplits", kubectl)
		say("  go run ./cmd/ramp status %s", scenario.App)
		say("  go run ./cmd/ramp dashboard      # the web dashboard on http://127.0.0.1:8089/")
		say("  go run ./cmd/ramp controller --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0")
		say("Stop it with: go run ./test/localcluster/cmd down --dir %s", cluster.Dir)
	}
	return nil
}

// serveDashboard serves the web dashboard on address while the demo runs.
func serveDashboard(ctx context.Context, cfg *rest.Config, address string) error {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("--dashboard: %w", err)
	}
	host, _, _ := net.SplitHostPort(address)
	opts := dashboard.Options{
		HostNames: dashboard.HostNames(host, nil),
		Log:       slog.New(slog.NewTextHandler(discard{}, nil)),
	}
	ready, failed := make(chan struct{}), make(chan error, 1)
	go func() {
		failed <- dashboard.Run(ctx, cfg, ln, opts, func(url string) {
			say("The dashboard follows the demo on %s", url)
			close(ready)
		})
	}()
	select {
	case <-ready:
		return nil
	case err := <-failed:
		return fmt.Errorf("dashboard: %w", err)
	}
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
