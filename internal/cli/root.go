// Package cli is the `ramp` command line: the controller and, for users,
// the commands that drive rollouts (also installed as `kubectl ramp`).
package cli

import (
	"github.com/spf13/cobra"

	"github.com/rampcd/ramp/internal/cli/controller"
)

// NewRootCmd returns the `ramp` command with every subcommand.
func NewRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ramp",
		Short: "Progressive canary delivery for Kubernetes",
		Long: `Ramp rolls new versions of a workload out as progressive canaries: new pods,
then a growing share of traffic, checks at every step, and promotion or an
immediate rollback.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(controller.NewCmdController())
	return root
}
