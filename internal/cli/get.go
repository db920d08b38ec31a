package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/cli/render"
)

func newCmdGet(o *Options) *cobra.Command {
	var (
		output        string
		allNamespaces bool
	)
	cmd := &cobra.Command{
		Use:   "get [NAME]",
		Short: "List rollouts, or show one",
		Long: `List the Rollouts of a namespace (or of all with -A): phase, step, the
canary's weight asked and reached, the stable and canary revisions.`,
		Example: `  ramp get
  ramp get web -o yaml
  ramp get -A`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: o.completeRollouts,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "json" && output != "yaml" {
				return fmt.Errorf("--output %q: use json or yaml, or leave it out for a table", output)
			}
			c, ns, err := o.Connect()
			if err != nil {
				return err
			}
			var rollouts []rampv1.Rollout
			if len(args) == 1 {
				ro := &rampv1.Rollout{}
				if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, ro); err != nil {
					return notFound(err, "Rollout", ns, args[0])
				}
				rollouts = append(rollouts, *ro)
			} else {
				rollouts, err = listRollouts(cmd.Context(), c, ns, allNamespaces)
				if err != nil {
					return err
				}
			}
			if output == "" {
				if len(rollouts) == 0 {
					where := "namespace " + ns
					if allNamespaces {
						where = "any namespace"
					}
					fmt.Fprintf(o.ErrOut, "No rollouts in %s.\n", where)
					return nil
				}
				return render.Table(o.Out, rollouts, allNamespaces, render.Style{Now: o.Now()})
			}
			var doc any = &rollouts[0]
			if len(args) == 0 {
				list := &rampv1.RolloutList{Items: rollouts}
				list.APIVersion, list.Kind = "v1", "List"
				doc = list
			}
			for i := range rollouts {
				rollouts[i].APIVersion, rollouts[i].Kind = rampv1.GroupVersion.String(), "Rollout"
			}
			data, err := yaml.Marshal(doc)
			if output == "json" {
				data, err = jsonIndent(doc)
			}
			if err != nil {
				return err
			}
			_, err = o.Out.Write(data)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml (default: a table)")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the rollouts of every namespace")
	return cmd
}

func listRollouts(ctx context.Context, c client.Client, ns string, all bool) ([]rampv1.Rollout, error) {
	var list rampv1.RolloutList
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(ctx, &list, opts...); err != nil {
		return nil, err
	}
	return list.Items, nil
}
