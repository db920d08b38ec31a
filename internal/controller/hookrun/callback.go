package hookrun

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/hooks"
)

// CallbackReceiver records webhook callbacks on their HookRuns. A token is
// accepted once, while its run awaits it and before it expires; the write
// carries the run's resourceVersion, so of two callbacks racing (or a
// callback racing a timeout) exactly one wins.
type CallbackReceiver struct {
	// Reader reads HookRuns from the API server, not a cache: a callback
	// must see the run as it is.
	Reader   client.Reader
	Writer   client.Client
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
}

var _ hooks.Receiver = &CallbackReceiver{}

// Receive checks token against the run's awaited callback and records the
// verdict.
func (c *CallbackReceiver) Receive(ctx context.Context, namespace, name, token string, v hooks.Verdict) error {
	var err error
	// A conflict means someone else wrote the run since our read (the
	// reconciler recording its call, or another callback): read again,
	// and the checks say whether it still awaits us.
	for range 3 {
		if err = c.receive(ctx, namespace, name, token, v); !apierrors.IsConflict(err) {
			return err
		}
	}
	return err
}

func (c *CallbackReceiver) receive(ctx context.Context, namespace, name, token string, v hooks.Verdict) error {
	run := &rampv1.HookRun{}
	if err := c.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, run); err != nil {
		if apierrors.IsNotFound(err) {
			return hooks.ErrUnknownRun
		}
		return err
	}
	s := &run.Status
	now := c.Clock.Now()
	switch {
	case s.Phase.Done() || run.Spec.Terminate || s.Callback == nil:
		return fmt.Errorf("%w: no callback awaited (already answered, or none asked)", hooks.ErrRefused)
	case !slices.ContainsFunc(s.Callback.TokenHashes, func(h string) bool { return hooks.TokenMatches(token, h) }):
		return fmt.Errorf("%w: the token does not match", hooks.ErrRefused)
	case !now.Before(s.Callback.ExpiresAt.Time):
		return fmt.Errorf("%w: the callback expired at %s", hooks.ErrRefused, s.Callback.ExpiresAt.UTC().Format(time.RFC3339))
	}
	base := run.DeepCopy()
	if n := len(s.Attempts); n > 0 && s.Attempts[n-1].FinishedAt == nil {
		s.Attempts[n-1].FinishedAt = microTime(now)
		s.Attempts[n-1].Message = "answered by callback before the call returned"
	}
	s.Callback = nil
	s.Phase, s.Message = rampv1.HookFailed, "callback: failure"
	if v.Success {
		s.Phase, s.Message = rampv1.HookSuccessful, "callback: success"
	}
	if v.Message != "" {
		s.Message += ": " + v.Message
	}
	s.FinishedAt = microTime(now)
	if err := c.Writer.Status().Patch(ctx, run, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	c.Recorder.Eventf(run, nil, eventType(v.Success), "CallbackReceived", "Callback", "%s", s.Message)
	return nil
}
