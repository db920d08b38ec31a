package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// request is a one-word gate: a request annotation the controller acts on
// once per token, or a change to spec.paused.
type request struct {
	use, short, long, example string
	// annotation to set to a new token; empty for pause and resume.
	annotation string
	paused     *bool
	done       string
}

func requests() []request {
	yes, no := true, false
	return []request{
		{use: "promote", short: "End the current step and go on to the next",
			long: `End the current step of the canary (a pause, an inconclusive analysis, a
pending hook) and go on to the next. With --full, skip every remaining step and
promote the canary to stable now.`,
			example:    "  ramp promote web\n  ramp promote web --full",
			annotation: rampv1.AnnotationPromote, done: "promotion requested"},
		{use: "abort", short: "Roll the canary back now",
			long:    "Roll the canary back: its weight goes to 0 and its pods scale down. The Rollout stays Degraded until `ramp retry` or a new version.",
			example: "  ramp abort web", annotation: rampv1.AnnotationAbort, done: "rollback requested"},
		{use: "retry", short: "Start a rolled-back canary again from its first step",
			example: "  ramp retry web", annotation: rampv1.AnnotationRetry, done: "retry requested"},
		{use: "pause", short: "Hold the canary where it is",
			long:    "Set spec.paused: no step starts or ends and no weight changes until `ramp resume`.",
			example: "  ramp pause web", paused: &yes, done: "paused"},
		{use: "resume", short: "Let a paused canary go on",
			example: "  ramp resume web", paused: &no, done: "resumed"},
	}
}

func newCmdRequest(o *Options, r request) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use: r.use + " NAME", Short: r.short, Long: r.long, Example: r.example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeRollouts,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.Connect()
			if err != nil {
				return err
			}
			annotation := r.annotation
			if full {
				annotation = rampv1.AnnotationPromoteFull
			}
			if err := send(cmd.Context(), c, ns, args[0], annotation, r.paused, o.Now().UnixNano()); err != nil {
				return err
			}
			fmt.Fprintf(o.Out, "rollout %s/%s %s\n", ns, args[0], r.done)
			return nil
		},
	}
	if r.use == "promote" {
		cmd.Flags().BoolVar(&full, "full", false, "skip the remaining steps and promote to stable now")
	}
	return cmd
}

// send writes a request with a merge patch, which changes nothing else.
func send(ctx context.Context, c client.Client, ns, name, annotation string, paused *bool, token int64) error {
	ro := &rampv1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return notFound(err, "Rollout", ns, name)
	}
	var patch string
	if paused != nil {
		patch = fmt.Sprintf(`{"spec":{"paused":%t}}`, *paused)
	} else {
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, annotation, strconv.FormatInt(token, 10))
	}
	return c.Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(patch)))
}
