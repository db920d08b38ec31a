package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// notFound words a missing object the way a user can act on.
func notFound(err error, kind, ns, name string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %q not found in namespace %q (is -n right? `ramp get` lists them)", kind, name, ns)
	}
	return err
}

func jsonIndent(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	return append(data, '\n'), err
}

// completeRollouts offers the names of the namespace's Rollouts.
func (o *Options) completeRollouts(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := o.Client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ns, err := o.Namespace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	rollouts, err := listRollouts(cmd.Context(), c, ns, false)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	names := make([]string, len(rollouts))
	for i, ro := range rollouts {
		names[i] = ro.Name
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
