// Package cli is the `ramp` command line: the controller and, for users,
// the commands that drive rollouts (also installed as `kubectl ramp`).
package cli

import (
	"github.com/spf13/cobra"

	"github.com/rampcd/ramp/internal/manager"
)

// NewRootCmd returns the `ramp` command with every subcommand.
func NewRootCmd() *cobra.Command { return NewRootCmdWith(NewOptions()) }

// NewRootCmdWith returns the `ramp` command writing to o's streams.
func NewRootCmdWith(o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:   "ramp",
		Short: "Progressive canary delivery for Kubernetes",
		Long: `Ramp rolls new versions of a workload out as progressive canaries: new pods,
then a growing share of traffic, checks at every step, and promotion or an
immediate rollback.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// kubectl's connection flags: --kubeconfig, --context, -n, --server, ...
	o.Flags.AddFlags(root.PersistentFlags())
	root.AddGroup(&cobra.Group{ID: "rollouts", Title: "Rollouts:"}, &cobra.Group{ID: "other", Title: "Other:"})
	for _, cmd := range []*cobra.Command{newCmdGet(o), newCmdStatus(o), newCmdSet(o), newCmdUndo(o), newCmdLint(o), newCmdConvert(o), newCmdAnalysis(o), newCmdDeploy(o), newCmdDashboard(o), newCmdUninstall(o)} {
		cmd.GroupID = "rollouts"
		root.AddCommand(cmd)
	}
	for _, r := range gates() {
		cmd := newCmdGate(o, r)
		cmd.GroupID = "rollouts"
		root.AddCommand(cmd)
	}
	for _, cmd := range []*cobra.Command{manager.NewCommand(o.Flags), newCmdVersion(o)} {
		cmd.GroupID = "other"
		root.AddCommand(cmd)
	}
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
	return root
}
