package cli

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rampcd/ramp/internal/dashboard"
)

func newCmdDashboard(o *Options) *cobra.Command {
	var (
		address      string
		port         int
		readOnly     bool
		allowedHosts []string
	)
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve the web dashboard: watch and steer canaries in a browser",
		Long: `Serve Ramp's web dashboard on this machine: every Rollout with its phase,
step and weight; for each, its steps with their durations, the canary's weight
over time, its analyses' measurements against their thresholds, its revisions,
hooks and events, all updated live from the cluster's watches; and buttons to
promote, abort, retry, pause and resume.

The dashboard reads and acts with your kubeconfig's rights, and listens on
127.0.0.1 only unless told otherwise: anyone who can reach it can do what you
can. It answers only to localhost, 127.0.0.1, ::1, --address and the names in
--allowed-hosts (so another web site cannot rebind its name to it), and takes
requests only from its own pages. It watches all namespaces, or only the one given with -n.`,
		Example: `  ramp dashboard                 # http://127.0.0.1:8089/
  ramp dashboard -n shop --port 9000
  ramp dashboard --read-only     # no buttons`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.Flags.ToRESTConfig()
			if err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			log := slog.New(slog.NewTextHandler(o.ErrOut, nil))
			// client-go and controller-runtime log through logr: to the same place.
			ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
			opts := dashboard.Options{ReadOnly: readOnly, Log: log, Now: o.Now}
			if cmd.Flags().Changed("namespace") {
				if opts.Namespace, err = o.Namespace(); err != nil {
					return err
				}
			}
			addr := net.JoinHostPort(address, strconv.Itoa(port))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--address/--port: %w", err)
			}
			if err := dashboard.CheckHostNames(allowedHosts); err != nil {
				return fmt.Errorf("--allowed-hosts: %w", err)
			}
			opts.HostNames = dashboard.HostNames(address, allowedHosts)
			return dashboard.Run(cmd.Context(), cfg, ln, opts, func(url string) {
				fmt.Fprintf(o.Out, "Ramp dashboard on %s (Ctrl-C to stop)\n", url)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&address, "address", "127.0.0.1", "address to listen on; anything but loopback lets others act with your rights")
	f.IntVar(&port, "port", 8089, "port to listen on (0: any free port)")
	f.BoolVar(&readOnly, "read-only", false, "show the pages without the buttons, and refuse requests")
	f.StringSliceVar(&allowedHosts, "allowed-hosts", nil,
		"host names the pages may be reached by, besides localhost, 127.0.0.1, ::1 and --address (an ingress's name, say); * for any, behind a proxy that checks them")
	return cmd
}
