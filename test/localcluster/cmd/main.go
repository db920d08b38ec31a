// Command localcluster builds, starts and stops Ramp's local Kubernetes
// control plane (see package localcluster).
//
//	go run ./test/localcluster/cmd up       # start in the background, print the kubeconfig
//	go run ./test/localcluster/cmd down     # stop it and remove its folder
//	go run ./test/localcluster/cmd exec -- go test ./...   # one cluster for one command
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampcd/ramp/test/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	var opts localcluster.Options
	var timeout time.Duration
	root := &cobra.Command{
		Use:   "localcluster",
		Short: "Run a real Kubernetes control plane on loopback, with no containers",
		Long: `localcluster runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler
and kwok (fake nodes and pods) as plain processes on 127.0.0.1. Every pod IP
is a loopback address. The binaries are built from the Go modules pinned in
test/localcluster/tools on first use and cached by version in the user cache
directory (about 10 minutes cold, seconds warm).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&opts.Dir, "dir", defaultDir(), "folder for the cluster's PKI, data, logs and kubeconfig")
	root.PersistentFlags().IntVar(&opts.Nodes, "nodes", localcluster.DefaultNodes, "number of fake nodes")
	root.PersistentFlags().StringVar(&opts.PodCIDR, "pod-cidr", localcluster.DefaultPodCIDR, "pod IP range, inside 127.0.0.0/8")
	root.PersistentFlags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the cluster to be ready (binaries excluded)")

	start := func(cmd *cobra.Command, detach bool) (*localcluster.Cluster, error) {
		opts.Log, opts.Detach, opts.ReadyTimeout = cmd.ErrOrStderr(), detach, timeout
		bins, err := localcluster.EnsureBinaries(cmd.Context(), cmd.ErrOrStderr())
		if err != nil {
			return nil, err
		}
		return localcluster.Start(cmd.Context(), bins, opts)
	}

	root.AddCommand(&cobra.Command{
		Use:   "build",
		Short: "Build the cluster binaries, kubectl, Prometheus, VictoriaMetrics and InfluxDB, and fetch Argo Rollouts' CRDs, for the pinned versions (if not cached), and print where they are",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bins, err := localcluster.EnsureBinaries(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			kubectl, err := localcluster.EnsureKubectl(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			prometheus, err := localcluster.EnsurePrometheus(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			vm, err := localcluster.EnsureVictoriaMetrics(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			influxd, err := localcluster.EnsureInfluxDB(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			// Fetched here too, not only on first use: the unit tests of
			// `ramp convert` read them, and may run before any e2e test.
			argo, err := localcluster.EnsureArgoRolloutsCRDs(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kubernetes %s\nkube-apiserver %s\nkubectl %s\netcd %s\nkwok %s\nprometheus %s\nvictoria-metrics %s\ninfluxd %s\nargo-rollouts crds %s\n",
				bins.KubernetesVersion, bins.APIServer, kubectl, bins.Etcd, bins.Kwok, prometheus, vm, influxd, argo)
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Start a cluster in the background and print how to use it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, err := localcluster.Attach(opts.Dir); err == nil && c.Running() {
				return fmt.Errorf("a cluster is already running in %s (stop it with: localcluster down --dir %s)", opts.Dir, opts.Dir)
			}
			if err := os.RemoveAll(opts.Dir); err != nil {
				return err
			}
			c, err := start(cmd, true)
			if err != nil {
				return err
			}
			kubectl, err := localcluster.EnsureKubectl(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Cluster %s is up. Logs: %s\n\n", c.Version, c.LogDir())
			fmt.Fprintf(out, "  export KUBECONFIG=%s\n", c.KubeconfigPath)
			fmt.Fprintf(out, "  alias kubectl=%s\n\n", kubectl)
			fmt.Fprintf(out, "Stop it with: make cluster-down (or go run ./test/localcluster/cmd down --dir %s)\n", opts.Dir)
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "down",
		Short: "Stop the cluster started by up and remove its folder",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := localcluster.Attach(opts.Dir)
			if err != nil {
				return err
			}
			if err := c.Stop(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cluster in %s stopped.\n", opts.Dir)
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "exec -- COMMAND [ARGS...]",
		Short: "Start a cluster, run a command against it, stop the cluster, exit with the command's status",
		Long: `exec starts a private cluster, runs COMMAND with KUBECONFIG and ` + localcluster.KubeconfigEnv + `
pointing at it (Ramp's tests then share it instead of starting their own),
and stops the cluster when COMMAND ends.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("dir") {
				opts.Dir = "" // a fresh temporary folder
			}
			// Tests and benchmarks run Prometheus, and the Graphite and
			// InfluxDB providers' tests VictoriaMetrics and InfluxDB:
			// build them now, with a line that says so, rather than in
			// whichever test needs them first.
			if _, err := localcluster.EnsurePrometheus(cmd.Context(), cmd.ErrOrStderr()); err != nil {
				return err
			}
			if _, err := localcluster.EnsureVictoriaMetrics(cmd.Context(), cmd.ErrOrStderr()); err != nil {
				return err
			}
			if _, err := localcluster.EnsureInfluxDB(cmd.Context(), cmd.ErrOrStderr()); err != nil {
				return err
			}
			c, err := start(cmd, false)
			if err != nil {
				return err
			}
			defer func() {
				if err := c.Stop(); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "localcluster: stop:", err)
				}
			}()
			run := exec.Command(args[0], args[1:]...)
			run.Stdin, run.Stdout, run.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			run.Env = append(os.Environ(), "KUBECONFIG="+c.KubeconfigPath, localcluster.KubeconfigEnv+"="+c.KubeconfigPath)
			return run.Run()
		},
	})
	return root
}

func defaultDir() string {
	return filepath.Join(os.TempDir(), "ramp-localcluster")
}
