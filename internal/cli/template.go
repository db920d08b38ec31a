package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func newCmdSet(o *Options) *cobra.Command {
	set := &cobra.Command{Use: "set", Short: "Change a rollout's pod template"}
	set.AddCommand(&cobra.Command{
		Use:   "image NAME CONTAINER=IMAGE [CONTAINER=IMAGE...]",
		Short: "Roll a new image out",
		Long: `Set the image of containers in the Rollout's pod template, which starts a
canary. With a workloadRef, the referenced Deployment's or StatefulSet's
template is changed (Ramp takes its template from there).`,
		Example:           "  ramp set image web web=ghcr.io/example/web:1.4.2",
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: o.completeRollouts,
		RunE: func(cmd *cobra.Command, args []string) error {
			images := map[string]string{}
			for _, a := range args[1:] {
				name, image, ok := strings.Cut(a, "=")
				if !ok || name == "" || image == "" {
					return fmt.Errorf("%q: write CONTAINER=IMAGE, e.g. web=example/web:1.2", a)
				}
				images[name] = image
			}
			return o.changeTemplate(cmd.Context(), args[0], func(t *corev1.PodTemplateSpec) error {
				for name, image := range images {
					i := slices.IndexFunc(t.Spec.Containers, func(c corev1.Container) bool { return c.Name == name })
					if i < 0 {
						return fmt.Errorf("no container %q in the pod template; it has %s", name, containerNames(t))
					}
					t.Spec.Containers[i].Image = image
				}
				return nil
			}, "image updated")
		},
	})
	return set
}

func newCmdUndo(o *Options) *cobra.Command {
	var toRevision int
	cmd := &cobra.Command{
		Use:   "undo NAME",
		Short: "Roll back to an earlier revision's pod template",
		Long: `Put an earlier revision's pod template back in the Rollout (or its
referenced Deployment): by default the revision before the stable one, or
--to-revision N (the numbers ramp status shows). Ramp rolls it out as it would
any change, through the canary steps.`,
		Example:           "  ramp undo web\n  ramp undo web --to-revision 3",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeRollouts,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.Connect()
			if err != nil {
				return err
			}
			ro := &rampv1.Rollout{}
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, ro); err != nil {
				return notFound(err, "Rollout", ns, args[0])
			}
			tmpl, number, err := revisionTemplate(cmd.Context(), c, ro, toRevision)
			if err != nil {
				return err
			}
			return o.changeTemplate(cmd.Context(), args[0], func(t *corev1.PodTemplateSpec) error {
				*t = *tmpl
				return nil
			}, fmt.Sprintf("rolling back to revision %d", number))
		},
	}
	cmd.Flags().IntVar(&toRevision, "to-revision", 0, "the revision to go back to (default: the one before the stable revision)")
	return cmd
}

// revisionTemplate finds the pod template of revision n (0: the newest
// before the stable one) among the Rollout's ReplicaSets.
func revisionTemplate(ctx context.Context, c client.Client, ro *rampv1.Rollout, n int) (*corev1.PodTemplateSpec, int, error) {
	var list appsv1.ReplicaSetList
	if err := c.List(ctx, &list, client.InNamespace(ro.Namespace)); err != nil {
		return nil, 0, err
	}
	type rev struct {
		number int
		rs     *appsv1.ReplicaSet
	}
	var revs []rev
	stable := 0
	for i := range list.Items {
		rs := &list.Items[i]
		if ref := metav1.GetControllerOfNoCopy(rs); ref == nil || ref.UID != ro.UID {
			continue
		}
		num, _ := strconv.Atoi(rs.Annotations[rampv1.AnnotationRevisionNumber])
		revs = append(revs, rev{num, rs})
		if rs.Labels[rampv1.LabelRevision] == ro.Status.StableRevision {
			stable = num
		}
	}
	slices.SortFunc(revs, func(a, b rev) int { return b.number - a.number })
	var numbers []string
	for _, r := range revs {
		numbers = append(numbers, strconv.Itoa(r.number))
		if (n == 0 && r.number < stable) || (n != 0 && r.number == n) {
			tmpl := r.rs.Spec.Template.DeepCopy()
			delete(tmpl.Labels, rampv1.LabelRevision) // the controller adds it
			return tmpl, r.number, nil
		}
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("rollout %s has no revision before its stable one (revisions kept: %s)", ro.Name, strings.Join(numbers, ", "))
	}
	return nil, 0, fmt.Errorf("rollout %s has no revision %d (revisions kept: %s)", ro.Name, n, strings.Join(numbers, ", "))
}

// changeTemplate edits the Rollout's pod template, or its referenced
// workload's, with optimistic concurrency.
func (o *Options) changeTemplate(ctx context.Context, name string, change func(*corev1.PodTemplateSpec) error, done string) error {
	c, ns, err := o.Connect()
	if err != nil {
		return err
	}
	ro := &rampv1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return notFound(err, "Rollout", ns, name)
	}
	var obj client.Object = ro
	tmpl := ro.Spec.Template
	if ref := ro.Spec.WorkloadRef; ref != nil {
		kind, w, t := ref.NewObject()
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, w); err != nil {
			return notFound(err, kind, ns, ref.Name)
		}
		obj, tmpl = w, t
	}
	orig := obj.DeepCopyObject().(client.Object)
	if err := change(tmpl); err != nil {
		return fmt.Errorf("rollout %s: %w", name, err)
	}
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "rollout %s/%s %s\n", ns, name, done)
	return nil
}

func containerNames(t *corev1.PodTemplateSpec) string {
	var names []string
	for _, c := range t.Spec.Containers {
		names = append(names, strconv.Quote(c.Name))
	}
	return strings.Join(names, ", ")
}
