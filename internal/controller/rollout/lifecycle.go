package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/strategy"
)

// notificationStep labels the HookRuns of notifications.
const notificationStep = "Notification"

// detached reports whether a HookRun runs on its own, whatever becomes
// of the canary: AfterPromotion and AfterRollback hooks, and
// notifications. The canary never waits for them nor terminates them.
func detached(run *rampv1.HookRun) bool {
	switch run.Labels[rampv1.LabelRunStep] {
	case string(rampv1.AfterPromotion), string(rampv1.AfterRollback), notificationStep:
		return true
	}
	return false
}

// lifecycleName names the HookRun of the canary's hook i (its index in
// spec.strategy.canary.hooks): <rollout>-<revision>-<attempt>-<event>-<i>.
func lifecycleName(st *rolloutState, event rampv1.HookEvent, i int) string {
	return runName(st, strategy.LifecycleStep(event, i))
}

// startHooks starts the canary's hooks for event (AfterPromotion,
// AfterRollback), once: their HookRuns are named after the canary's
// revision and attempt.
func (r *Reconciler) startHooks(ctx context.Context, st *rolloutState, event rampv1.HookEvent) error {
	for i, h := range st.ro.Spec.Strategy.Canary.Hooks {
		if h.On != event {
			continue
		}
		if _, err := r.ensureHookRun(ctx, st, lifecycleName(st, event, i), string(event),
			rampv1.HookRunSpec{Webhook: h.Webhook, Job: h.Job}, st.weight); err != nil {
			return err
		}
	}
	return nil
}

// notify posts a phase change, once per change: the HookRun's name is
// derived from the phases and from fromKey, the recorded state the change
// leaves, so a pass that runs again after a lost status write finds the
// run it started, and the same change made again later is a new one.
func (r *Reconciler) notify(ctx context.Context, st *rolloutState, from rampv1.Phase, fromKey string) error {
	n := st.ro.Spec.Strategy.Canary.Notifications
	s := &st.ro.Status
	if n == nil || s.Phase == from || from == "" || (len(n.Phases) > 0 && !slices.Contains(n.Phases, s.Phase)) {
		return nil
	}
	key := sha256.Sum256([]byte(strings.Join([]string{fromKey, string(from), string(s.Phase)}, "/")))
	name := fmt.Sprintf("%s-notify-%s", st.ro.Name, hex.EncodeToString(key[:])[:10])
	body := n.Body
	if body == "" {
		body = `{"text": "{{.Message}}"}`
	}
	spec := rampv1.HookRunSpec{
		Webhook: &rampv1.WebhookHook{URL: n.URL, Body: body, Headers: n.Headers, Retries: ptr.To[int32](2)},
		Context: rampv1.HookContext{Phase: s.Phase, Message: fmt.Sprintf("Rollout %s/%s is %s: %s", st.ro.Namespace, st.ro.Name, s.Phase, s.Message)},
	}
	_, err := r.ensureHookRun(ctx, st, name, notificationStep, spec, st.weight)
	return err
}

// conditionsKey sums up recorded conditions: their types, statuses and
// transition times.
func conditionsKey(conds []metav1.Condition) string {
	var b strings.Builder
	for _, c := range conds {
		fmt.Fprintf(&b, "%s=%s@%d;", c.Type, c.Status, c.LastTransitionTime.UnixNano())
	}
	return b.String()
}
