package scenario

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	kwatch "k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/cli"
)

// followTimeout bounds one version's rollout.
const followTimeout = 5 * time.Minute

// follow watches the Rollout until done, noting when each step began and
// telling the changes: through `ramp status -w` when live, else one line
// per change.
func (s *story) follow(ctx context.Context, steps map[int32]time.Time, done func(*rampv1.Rollout) bool) (*rampv1.Rollout, error) {
	ctx, cancel := context.WithTimeout(ctx, followTimeout)
	defer cancel()
	if s.opts.Live {
		statusCtx, stopStatus := context.WithCancel(ctx)
		finished := make(chan struct{})
		go func() { s.status(statusCtx, true); close(finished) }()
		defer func() { stopStatus(); <-finished }()
	}
	watch := func() (kwatch.Interface, error) {
		return s.c.Watch(ctx, &rampv1.RolloutList{}, client.InNamespace(s.opts.Namespace),
			client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", App)})
	}
	w, err := watch()
	if err != nil {
		return nil, err
	}
	defer func() { w.Stop() }()
	resync := time.NewTicker(time.Second) // a read now and then, whatever the watch does
	defer resync.Stop()
	last, start := "", time.Now()
	ro := &rampv1.Rollout{}
	err = s.c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: App}, ro)
	for {
		// Every version the watch delivers is looked at, so that no step
		// goes unseen however fast it passes.
		if err == nil {
			if i := ro.Status.CurrentStepIndex; i != nil && steps != nil && ro.Status.StepStartedAt != nil {
				steps[*i] = ro.Status.StepStartedAt.Time
			}
			if line := describe(ro); line != last && !s.opts.Live {
				say(s.opts.Out, "%6.1fs  %s", time.Since(start).Seconds(), line)
				last = line
			}
			if ro.Status.ObservedGeneration == ro.Generation && done(ro) {
				return ro, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w (last: %s)", App, ctx.Err(), last)
		case ev, ok := <-w.ResultChan():
			if !ok { // the server ended the watch: start another
				w.Stop()
				if w, err = watch(); err != nil {
					return nil, err
				}
				continue
			}
			if got, isRollout := ev.Object.(*rampv1.Rollout); isRollout {
				ro, err = got, nil
			}
		case <-resync.C:
			ro = &rampv1.Rollout{}
			err = s.c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: App}, ro)
		}
	}
}

// status runs `ramp status`: once, or with -w until ctx ends.
func (s *story) status(ctx context.Context, watch bool) {
	o := cli.NewOptions()
	o.Out, o.ErrOut = s.opts.Out, s.opts.Out
	cmd := cli.NewRootCmdWith(o)
	args := []string{"status", App, "--kubeconfig", s.opts.Kubeconfig, "-n", s.opts.Namespace}
	if watch {
		args = append(args, "-w")
	}
	cmd.SetArgs(args)
	cmd.SetOut(s.opts.Out)
	cmd.SetErr(s.opts.Out)
	if err := cmd.ExecuteContext(ctx); err != nil && ctx.Err() == nil {
		say(s.opts.Out, "ramp status: %v", err)
	}
}

// describe is one line about the Rollout: phase, step, the canary's share
// of traffic, pods, and what it is doing.
func describe(ro *rampv1.Rollout) string {
	st := ro.Status
	step := "-"
	if st.StepLabel != "" {
		step = st.StepLabel
	}
	reached := int(st.Weight.Reached.Float() / 5)
	bar := strings.Repeat("█", reached) + strings.Repeat("░", 20-reached)
	return fmt.Sprintf("%-11s step %-4s canary %s %5s%%  pods %d/%d ready  %s",
		st.Phase, step, bar, st.Weight.Reached, st.ReadyReplicas, st.Replicas, st.Message)
}
