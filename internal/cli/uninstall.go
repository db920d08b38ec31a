package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func newCmdUninstall(o *Options) *cobra.Command {
	var (
		dryRun, allNamespaces bool
		timeout               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Delete the Rollouts of a namespace, each workload handed back (--dry-run: say what would happen)",
		Long: `The first step of removing Ramp from a namespace (or from all, with -A):
delete every Rollout, and wait until each one's finalizer has handed its
workload back as its mode says, so that nothing stops serving.

  template   the Rollout's pods go with it: nothing else runs the workload
  Adopt      the Deployment is scaled back up and waited for, then Ramp's pods go
  InPlace    traffic goes back to the Deployment's pods, the canary goes,
             then the Deployment is unpaused

With --dry-run, nothing is deleted: each Rollout is listed with what its
deletion would do, and a warning for each workload that would stop
serving or roll out a template Ramp has not promoted.

Then uninstall the controller, and only then delete the CRDs
(docs/workloads.md): with no controller, no finalizer runs.`,
		Example: `  ramp uninstall --dry-run -A
  ramp uninstall -n shop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := o.Connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			rollouts, err := listRollouts(ctx, c, ns, allNamespaces)
			if err != nil {
				return err
			}
			if len(rollouts) == 0 {
				fmt.Fprintln(o.ErrOut, "No rollouts to delete.")
				return nil
			}
			warned := 0
			for i := range rollouts {
				ro := &rollouts[i]
				dep, err := workloadOf(ctx, c, ro)
				if err != nil {
					return err
				}
				plan := uninstallPlan(ro, dep)
				fmt.Fprintf(o.Out, "%s/%s: %s\n", ro.Namespace, ro.Name, plan.does)
				for _, w := range plan.warnings {
					fmt.Fprintf(o.Out, "  warning: %s\n", w)
					warned++
				}
			}
			if dryRun {
				if warned > 0 {
					return fmt.Errorf("%d warnings: nothing deleted (--dry-run)", warned)
				}
				return nil
			}
			return deleteRollouts(ctx, c, o, rollouts, timeout)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what deleting each Rollout would do, and delete nothing")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "the Rollouts of every namespace")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Minute, "how long to wait for the Rollouts to be gone")
	return cmd
}

// plan is what deleting one Rollout would do.
type plan struct {
	does     string
	warnings []string
}

// uninstallPlan says what deleting ro does to its workload; dep is the
// Deployment its workloadRef names, nil if there is none.
func uninstallPlan(ro *rampv1.Rollout, dep *appsv1.Deployment) plan {
	s := &ro.Status
	held := ro.DeletionTimestamp == nil && !controllerutil.ContainsFinalizer(ro, rampv1.FinalizerCleanup)
	switch ref := ro.Spec.WorkloadRef; {
	case ro.DeletionTimestamp != nil:
		return plan{does: "being deleted already"}
	case ref == nil:
		return plan{does: fmt.Sprintf("its %d pods go with it", s.Replicas), warnings: []string{
			"it runs its own template: nothing serves the workload once it is deleted; move the template to a Deployment and adopt it first (docs/workloads.md)"}}
	case ro.Spec.StatefulSet():
		p := plan{does: fmt.Sprintf("the routing goes back to the Service %s, which selects every pod of StatefulSet %s, then its partition goes to 0", ro.Spec.Service, ref.Name)}
		if held {
			p.warnings = append(p.warnings, "no finalizer (the controller has not seen it yet): the routing goes at once, and the partition stays as it is")
		}
		if c := s.CanaryRevision; c != "" || (s.Workload != nil && s.Workload.Paused && s.Workload.PromotedAt == nil) {
			p.warnings = append(p.warnings, fmt.Sprintf(
				"the StatefulSet holds a template Ramp has not promoted%s: its pods of that template get traffic through the root Service, and it rolls the template out on its own once the partition is 0; revert its template first to stay on the stable version", revision(c)))
		}
		return p
	case dep == nil:
		return plan{does: fmt.Sprintf("Deployment %s not found: nothing to hand back", ref.Name), warnings: []string{
			fmt.Sprintf("its %d pods go with it and nothing serves the workload", s.Replicas)}}
	case ro.Spec.InPlace():
		p := plan{does: fmt.Sprintf("traffic goes back to Deployment %s's %d pods, the canary goes, then the Deployment is unpaused", dep.Name, dep.Status.AvailableReplicas)}
		if held {
			p.warnings = append(p.warnings, "no finalizer (the controller has not seen it yet): the routing and the canary go at once, and the Deployment stays as it is")
		}
		// Paused by Ramp with no canary: a rollback's template, or a
		// promoted one waiting for its hand over (which is no warning).
		unpromoted := s.Workload != nil && s.Workload.Paused && s.Workload.PromotedAt == nil
		if c := s.CanaryRevision; c != "" || (dep.Spec.Paused && unpromoted) {
			p.warnings = append(p.warnings, fmt.Sprintf(
				"the Deployment holds a template Ramp has not promoted%s, and rolls it out on its own once unpaused; revert its template first to stay on the stable version", revision(c)))
		}
		return p
	default:
		want := ptr.Deref(ro.Spec.Replicas, 1)
		p := plan{does: fmt.Sprintf("Deployment %s is scaled from %d back to %d and waited for, then Ramp's pods go", dep.Name, ptr.Deref(dep.Spec.Replicas, 1), want)}
		if held {
			p.warnings = append(p.warnings, fmt.Sprintf("no finalizer (the controller has not seen it yet): Ramp's pods go at once, and Deployment %s stays at %d", dep.Name, ptr.Deref(dep.Spec.Replicas, 1)))
		}
		if c := s.CanaryRevision; c != "" {
			p.warnings = append(p.warnings, fmt.Sprintf(
				"the Deployment holds the canary's template%s, and runs it unchecked once scaled back; revert its template first to stay on the stable version", revision(c)))
		}
		return p
	}
}

func revision(hash string) string {
	if hash == "" {
		return ""
	}
	return " (revision " + hash + ")"
}

// workloadOf reads the Deployment ro's workloadRef names; nil if none.
func workloadOf(ctx context.Context, c client.Client, ro *rampv1.Rollout) (*appsv1.Deployment, error) {
	ref := ro.Spec.WorkloadRef
	if ref == nil || ro.Spec.StatefulSet() {
		return nil, nil
	}
	dep := &appsv1.Deployment{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, dep)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return dep, err
}

// deleteRollouts deletes the Rollouts in the background (their finalizers
// need their ReplicaSets to stay until they are done) and waits until all
// are gone.
func deleteRollouts(ctx context.Context, c client.Client, o *Options, rollouts []rampv1.Rollout, timeout time.Duration) error {
	for i := range rollouts {
		err := c.Delete(ctx, &rollouts[i], client.PropagationPolicy("Background"))
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete Rollout %s/%s: %w", rollouts[i].Namespace, rollouts[i].Name, err)
		}
	}
	fmt.Fprintf(o.ErrOut, "Deleted %d rollouts; waiting for their workloads to be handed back...\n", len(rollouts))
	var left []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		left = left[:0]
		for i := range rollouts {
			ro := &rampv1.Rollout{}
			err := c.Get(ctx, client.ObjectKeyFromObject(&rollouts[i]), ro)
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return false, err
			default:
				left = append(left, ro.Namespace+"/"+ro.Name)
			}
		}
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("rollouts still there after %s: %s (their events say what they wait for: kubectl events -n NAMESPACE --for rollout.ramp.dev/NAME): %w",
			timeout, strings.Join(left, ", "), err)
	}
	fmt.Fprintln(o.ErrOut, "All gone. Next: uninstall the controller (helm uninstall ramp -n ramp-system, or kubectl delete -k config/default), then delete the CRDs (kubectl delete -f config/crd/bases/).")
	return nil
}
