package manager

import (
	"flag"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampcd/ramp/internal/admission"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// NewCommand returns `ramp controller`, which runs the controller in a
// cluster, or outside one with a kubeconfig. It connects with
// kubectl's flags (--kubeconfig, --context, ...); --watch-namespace (or -n,
// for one) limits it to some namespaces.
func NewCommand(flags *genericclioptions.ConfigFlags) *cobra.Command {
	opts := Options{}
	logOpts := zap.Options{}
	adm := admission.Options{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the Rollout controller",
		Long: `Run Ramp's controller. In a cluster it uses its ServiceAccount; outside one,
--kubeconfig (or $KUBECONFIG) names the cluster. It watches every namespace,
or only those --watch-namespace names (-n is a shorthand for one); then it
needs the rights of its ClusterRole in those namespaces alone, bound there by
RoleBindings, plus reading ClusterAnalysisTemplates.

For clusters past what one replica holds, --shards N spreads the Rollouts
(and the runs they start) over N shards, each a Lease held by one replica
at a time; every replica takes its fair share, and a lost replica's share
moves to the others within 20 s. Run N replicas (or fewer: some then hold
more than one shard), all with the same --shards.

The controller keeps all its state in the cluster (Rollout status and the
objects it owns), so it can be stopped or killed at any moment and started
again: it continues every canary where it stood.`,
		Example: `  # out of cluster, against the current kubeconfig context
  ramp controller --kubeconfig ~/.kube/config --metrics-bind-address 127.0.0.1:8080

  # two replicas, one active at a time
  ramp controller --leader-elect --leader-election-namespace ramp-system

  # three replicas, all active, each on a share of the Rollouts
  ramp controller --shards 3 --leader-election-namespace ramp-system

  # only the shop and payments namespaces
  ramp controller --watch-namespace shop,payments`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&logOpts)))
			cfg, err := flags.ToRESTConfig()
			if err != nil {
				return err
			}
			if flags.Namespace != nil && *flags.Namespace != "" {
				if len(opts.Namespaces) > 0 {
					return fmt.Errorf("-n and --watch-namespace both name namespaces to watch: use --watch-namespace %s,%s", strings.Join(opts.Namespaces, ","), *flags.Namespace)
				}
				opts.Namespaces = []string{*flags.Namespace}
			}
			if adm.Addr != "" {
				if err := completeAdmission(&adm); err != nil {
					return err
				}
				opts.Admission = &adm
			}
			cfg.QPS, cfg.Burst = 100, 200
			cfg.UserAgent = "ramp-controller"
			return Run(cmd.Context(), cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", `address of the Prometheus metrics endpoint ("0" disables it)`)
	f.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", `address of /healthz and /readyz ("0" disables them)`)
	f.StringVar(&opts.PprofAddr, "pprof-bind-address", "", "address of Go's profiles, /debug/pprof/ (e.g. 127.0.0.1:6060; default: off)")
	f.BoolVar(&opts.LeaderElect, "leader-elect", false, "elect a single active replica through a Lease")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the Leases, of leader election or of shards (default: the controller's own)")
	f.IntVar(&opts.Shards, "shards", 1, "spread the Rollouts over every replica in this many shards, each held by one replica at a time through a Lease (run every replica with the same count; excludes --leader-elect)")
	f.StringSliceVar(&opts.Namespaces, "watch-namespace", nil, "namespaces to watch, comma-separated or repeated (default: all)")
	f.IntVar(&opts.Concurrency, "concurrency", 4, "number of Rollouts reconciled at once")
	f.IntVar(&opts.AnalysisConcurrency, "analysis-concurrency", 10, "most provider queries (AnalysisRuns measuring) at once")
	f.StringSliceVar(&opts.WebhookAllowlist, "webhook-allowlist", nil, "hosts webhooks may call: names, *.domains, address ranges (default: any)")
	f.IntVar(&opts.HookConcurrency, "hook-concurrency", 10, "most webhooks and Jobs (HookRuns calling out) at once")
	f.StringVar(&opts.CallbackAddr, "callback-bind-address", ":9443", `address of the webhook callback endpoint ("" disables callbacks)`)
	f.StringVar(&opts.CallbackURL, "callback-url", "", "base URL test systems call back, e.g. https://ramp-callbacks.ramp-system.svc:9443 (default: the bind address)")
	f.StringVar(&opts.CallbackCertDir, "callback-cert-dir", "", "folder with tls.crt and tls.key to serve callbacks over TLS (reloaded when they change)")
	f.StringVar(&adm.Addr, "admission-bind-address", "", `address of the admission webhooks (validation of Ramp's objects; holding Deployments run in place), e.g. ":9444" (default: off)`)
	f.StringVar(&adm.CertDir, "admission-cert-dir", "", "folder with tls.crt and tls.key made by another (cert-manager); default: the controller keeps its own in --admission-secret")
	f.StringVar(&adm.Secret.Namespace, "admission-namespace", "", "namespace of --admission-secret (default: the controller's own)")
	f.StringVar(&adm.Secret.Name, "admission-secret", "ramp-admission-tls", "Secret in which the controller keeps the webhook's CA and serving certificate")
	f.StringSliceVar(&adm.Names, "admission-names", nil, "DNS names and IPs the API server calls the webhook by (default: ramp-admission.<namespace>.svc)")
	f.StringVar(&adm.Configuration, "admission-configuration", "ramp-admission", "ValidatingWebhookConfiguration, and MutatingWebhookConfiguration of the same name if installed, to give the CA")
	gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
	logOpts.BindFlags(gofs)
	f.AddGoFlagSet(gofs)
	return cmd
}

// completeAdmission fills in the namespace and the names the webhook is
// called by, when the flags leave them to the defaults.
func completeAdmission(adm *admission.Options) error {
	if adm.CertDir != "" {
		return nil
	}
	if adm.Secret.Namespace == "" {
		ns, err := ownNamespace()
		if err != nil {
			return fmt.Errorf("admission certificates need a namespace for their Secret: pass --admission-namespace (outside a cluster): %w", err)
		}
		adm.Secret.Namespace = ns
	}
	if len(adm.Names) == 0 {
		adm.Names = []string{"ramp-admission." + adm.Secret.Namespace + ".svc"}
	}
	return nil
}
