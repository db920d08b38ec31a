package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/request"
)

// gate is a one-word command: a control annotation the controller acts on
// once per token, or a change to spec.paused.
type gate struct {
	use, short, long, example string
	kind                      request.Kind
	done                      string
}

func gates() []gate {
	return []gate{
		{use: "promote", short: "End the current step and go on to the next",
			long: `End the current step of the canary (a pause, an inconclusive analysis, a
pending hook) and go on to the next. With --full, skip every remaining step and
promote the canary to stable now.`,
			example: "  ramp promote web\n  ramp promote web --full",
			kind:    request.Promote, done: "promotion requested"},
		{use: "abort", short: "Roll the canary back now",
			long:    "Roll the canary back: its weight goes to 0 and its pods scale down (with a mesh router, once every proxy has dropped it). The Rollout stays Degraded until `ramp retry` or a new version.",
			example: "  ramp abort web", kind: request.Abort, done: "rollback requested"},
		{use: "retry", short: "Start a rolled-back canary again from its first step",
			example: "  ramp retry web", kind: request.Retry, done: "retry requested"},
		{use: "pause", short: "Hold the canary where it is",
			long:    "Set spec.paused: no step starts or ends and no weight changes until `ramp resume`.",
			example: "  ramp pause web", kind: request.Pause, done: "paused"},
		{use: "resume", short: "Let a paused canary go on",
			example: "  ramp resume web", kind: request.Resume, done: "resumed"},
	}
}

func newCmdGate(o *Options, r gate) *cobra.Command {
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
			req := r.kind
			if full {
				req = request.PromoteFull
			}
			token := strconv.FormatInt(o.Now().UnixNano(), 10)
			if err := request.Send(cmd.Context(), c, client.ObjectKey{Namespace: ns, Name: args[0]}, req, token); err != nil {
				return notFound(err, "Rollout", ns, args[0])
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
