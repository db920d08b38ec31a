// Package hookrun is the HookRun reconciler: it calls webhooks and awaits
// their callbacks (CallbackReceiver), or runs test Jobs, for the steps,
// lifecycle hooks and notifications of Rollouts, and records each attempt
// and the verdict in the run's status, which the Rollout reconciler reads.
package hookrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/hooks"
	"github.com/rampcd/ramp/internal/outbound"
	"github.com/rampcd/ramp/internal/shard"
)

// keptAttempts bounds the attempts kept in a HookRun's status.
const keptAttempts = 10

// errRetryLater makes a pass that saved what it knows run again after
// configRetry.
var errRetryLater = errors.New("retry later")

// labelHookRun names, on a test Job and its pods, the HookRun they run for.
const labelHookRun = "ramp.dev/hook-run"

// Reconciler carries out HookRuns: it calls webhooks (retrying with
// backoff) and awaits their callbacks, or runs Jobs and reads their
// outcome. Each attempt is recorded before it is made and after, so a
// controller killed mid-call makes the call again (at least once, with the
// same Idempotency-Key), and a callback awaited before a restart is
// accepted after it.
type Reconciler struct {
	client.Client
	// APIReader reads past the cache, to tell a Job just created (not yet
	// in the cache) from one deleted.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	Clock     clock.PassiveClock
	// CallbackURL is the base URL at which test systems reach the
	// controller's callback endpoint; empty when it serves none.
	CallbackURL string
	// Shards, when set, limits the reconciler to the runs of the Rollouts
	// in this replica's shards.
	Shards *shard.Set
	// Concurrency is how many runs call out at once (default 10).
	Concurrency int
	// Allowlist limits the hosts webhooks call; empty, any.
	Allowlist outbound.Allowlist
}

// +kubebuilder:rbac:groups=ramp.dev,resources=hookruns,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=ramp.dev,resources=hookruns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete

// Reconcile moves a run on and records what happened.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	run := &rampv1.HookRun{}
	if err := r.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if run.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	if run.Status.Phase.Done() {
		return ctrl.Result{}, r.cleanupJob(ctx, run)
	}
	base := run.DeepCopy()
	s := &run.Status
	now := r.Clock.Now()
	if s.StartedAt == nil {
		s.StartedAt, s.Phase = microTime(now), rampv1.HookRunning
		s.Target = r.target(run)
	}
	var (
		next time.Time
		err  error
	)
	switch {
	case run.Spec.Terminate:
		err = r.terminate(ctx, run)
	case run.Spec.Webhook != nil:
		next, err = r.webhook(ctx, run, base)
	default:
		err = r.job(ctx, run)
		if errors.Is(err, errRetryLater) {
			err, next = nil, r.Clock.Now().Add(configRetry)
		}
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if saved, err := r.save(ctx, run, base); err != nil || !saved {
		return ctrl.Result{RequeueAfter: retryDelay}, err
	}
	if run.Status.Phase.Done() {
		r.finished(run)
		return ctrl.Result{}, r.cleanupJob(ctx, run)
	}
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(r.Clock.Now()), time.Millisecond)}, nil
}

// save writes the run's status changes since base, with base's
// resourceVersion: false when another writer (a callback) got there first
// or the read was stale. base is then brought up to date.
func (r *Reconciler) save(ctx context.Context, run, base *rampv1.HookRun) (bool, error) {
	if equality.Semantic.DeepEqual(base.Status, run.Status) {
		return true, nil
	}
	err := r.Status().Patch(ctx, run, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	run.DeepCopyInto(base)
	return true, nil
}

func (r *Reconciler) target(run *rampv1.HookRun) string {
	if h := run.Spec.Webhook; h != nil {
		return hooks.Target(h, hooks.NewValues(run.Namespace, run.Spec.Context, ""))
	}
	return "Job " + run.Name
}

// webhook makes the attempt that is due, or waits: for the next retry, or
// for the callback until it expires. It returns when to look again.
func (r *Reconciler) webhook(ctx context.Context, run, base *rampv1.HookRun) (time.Time, error) {
	h, s, now := run.Spec.Webhook, &run.Status, r.Clock.Now()
	target, err := hooks.URL(h, hooks.NewValues(run.Namespace, run.Spec.Context, ""))
	if err == nil {
		err = r.Allowlist.Check(target)
	}
	if err != nil {
		r.finish(run, rampv1.HookFailed, "not called: "+err.Error())
		return time.Time{}, nil
	}
	n := len(s.Attempts)
	inFlight := n > 0 && s.Attempts[n-1].FinishedAt == nil
	switch {
	case h.Callback != nil && r.CallbackURL == "":
		r.finish(run, rampv1.HookFailed, "this webhook waits for a callback, but the controller serves none: "+
			"start it with --callback-url (the address test systems reach it at)")
		return time.Time{}, nil
	case inFlight:
		// An attempt left in flight by a restart had an unknown fate: it
		// is made again.
		s.Attempts[n-1].FinishedAt = microTime(now)
		s.Attempts[n-1].Message = "interrupted by a controller restart; called again"
	case s.NextAttemptAt != nil:
		if now.Before(s.NextAttemptAt.Time) {
			return s.NextAttemptAt.Time, nil
		}
	case s.Callback != nil:
		// The call passed: the verdict comes by callback, or never.
		if now.Before(s.Callback.ExpiresAt.Time) {
			return s.Callback.ExpiresAt.Time, nil
		}
		s.Callback = nil
		r.finish(run, rampv1.HookFailed, fmt.Sprintf("no callback within %s of the call", hooks.CallbackTimeout(h)))
		return time.Time{}, nil
	}
	callbackURL := ""
	if h.Callback != nil {
		// Each attempt gets its own token, and the earlier ones stay
		// good: the receiver may have taken an earlier attempt and
		// skipped this one as a repeat of its Idempotency-Key.
		token, hash := hooks.NewToken()
		callbackURL = r.CallbackURL + hooks.CallbackPath(run.Namespace, run.Name, token)
		if s.Callback == nil {
			s.Callback = &rampv1.CallbackStatus{}
		}
		s.Callback.TokenHashes = append(s.Callback.TokenHashes, hash)
		if len(s.Callback.TokenHashes) > keptAttempts {
			s.Callback.TokenHashes = s.Callback.TokenHashes[len(s.Callback.TokenHashes)-keptAttempts:]
		}
		s.Callback.ExpiresAt = metav1.NewTime(now.Add(hooks.Timeout(h) + hooks.CallbackTimeout(h)))
	}
	// Record the attempt (and the token's hash) before calling: a
	// callback may come back before the call returns.
	s.AttemptCount++
	s.NextAttemptAt = nil
	s.Attempts = appendAttempt(s.Attempts, rampv1.HookAttempt{StartedAt: metav1.NewMicroTime(now)})
	if saved, err := r.save(ctx, run, base); err != nil || !saved {
		// Not recorded, so not called: the caller's save fails alike and
		// the next pass starts over from a fresh read.
		return time.Time{}, err
	}
	answer := hooks.Call(ctx, h, hooks.NewValues(run.Namespace, run.Spec.Context, callbackURL),
		outbound.SecretReader{Client: r.Client, Namespace: run.Namespace}, string(run.UID))
	now = r.Clock.Now()
	a := &s.Attempts[len(s.Attempts)-1]
	a.FinishedAt, a.Code, a.Message = microTime(now), answer.Code, answer.Message
	r.Recorder.Eventf(run, nil, eventType(answer.Pass), "WebhookCalled", "Call",
		"%s: attempt %d: %s (%s)", s.Target, s.AttemptCount, answer.Message, now.Sub(a.StartedAt.Time).Round(time.Millisecond))
	switch {
	case answer.Pass && h.Callback != nil:
		s.Callback.ExpiresAt = metav1.NewTime(now.Add(hooks.CallbackTimeout(h)))
		return s.Callback.ExpiresAt.Time, nil
	case answer.Pass:
		r.finish(run, rampv1.HookSuccessful, answer.Message)
	case s.AttemptCount < hooks.Attempts(h):
		s.NextAttemptAt = microTime(now.Add(hooks.Backoff(h, s.AttemptCount)))
		return s.NextAttemptAt.Time, nil
	default:
		s.Callback = nil
		r.finish(run, rampv1.HookFailed, fmt.Sprintf("%s after %d attempt(s)", answer.Message, s.AttemptCount))
	}
	return time.Time{}, nil
}

// job creates the run's Job, then reads its outcome.
func (r *Reconciler) job(ctx context.Context, run *rampv1.HookRun) error {
	job := &batchv1.Job{}
	name := jobName(run)
	err := r.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: name}, job)
	if apierrors.IsNotFound(err) && run.Status.JobName != "" {
		err = r.APIReader.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: name}, job)
	}
	switch {
	case apierrors.IsNotFound(err) && run.Status.JobName != "":
		r.finish(run, rampv1.HookFailed, fmt.Sprintf("Job %s was deleted before it finished", run.Status.JobName))
		return nil
	case apierrors.IsNotFound(err):
		job = hooks.NewJob(run.Namespace, name, run.Spec.Job, hooks.NewValues(run.Namespace, run.Spec.Context, ""),
			map[string]string{rampv1.LabelRollout: shortName(run.Spec.Context.Rollout, 63), labelHookRun: name, rampv1.LabelManagedBy: rampv1.ManagedBy})
		if err := controllerutil.SetControllerReference(run, job, r.Scheme()); err != nil {
			return err
		}
		err := r.Create(ctx, job)
		switch {
		case apierrors.IsInvalid(err):
			r.finish(run, rampv1.HookFailed, fmt.Sprintf("Job %s cannot be created: %v", name, err))
			return nil
		case apierrors.IsForbidden(err):
			// A quota or a policy: it may pass later; say so meanwhile.
			run.Status.Message = fmt.Sprintf("Job %s cannot be created yet: %v", name, err)
			r.Recorder.Eventf(run, nil, corev1.EventTypeWarning, "JobForbidden", "Create", "%s", run.Status.Message)
			return errRetryLater
		case err != nil && !apierrors.IsAlreadyExists(err):
			return fmt.Errorf("create Job %s: %w", name, err)
		}
		run.Status.JobName, run.Status.Message = name, ""
		r.Recorder.Eventf(run, nil, corev1.EventTypeNormal, "JobCreated", "Create", "Created Job %s", name)
		return nil
	case err != nil:
		return err
	}
	run.Status.JobName = job.Name
	if done, success, msg := hooks.JobVerdict(job); done {
		phase := rampv1.HookFailed
		if success {
			phase = rampv1.HookSuccessful
		}
		r.finish(run, phase, msg)
	}
	return nil
}

// terminate ends a run whose canary is over.
func (r *Reconciler) terminate(ctx context.Context, run *rampv1.HookRun) error {
	run.Status.Callback, run.Status.NextAttemptAt = nil, nil
	r.finish(run, rampv1.HookFailed, "terminated: the canary it tested is over")
	if run.Spec.Job == nil {
		return nil
	}
	return r.deleteJob(ctx, run)
}

func (r *Reconciler) finish(run *rampv1.HookRun, phase rampv1.HookPhase, msg string) {
	run.Status.Phase, run.Status.Message, run.Status.FinishedAt = phase, msg, microTime(r.Clock.Now())
}

func (r *Reconciler) finished(run *rampv1.HookRun) {
	kind := "webhook"
	if run.Spec.Job != nil {
		kind = "job"
	}
	runs.WithLabelValues(kind, string(run.Status.Phase)).Inc()
	r.Recorder.Eventf(run, nil, eventType(run.Status.Phase == rampv1.HookSuccessful), "Hook"+string(run.Status.Phase), "Run",
		"%s: %s", run.Status.Target, run.Status.Message)
}

// cleanupJob deletes a finished run's Job as its cleanup policy says.
func (r *Reconciler) cleanupJob(ctx context.Context, run *rampv1.HookRun) error {
	h := run.Spec.Job
	if h == nil || run.Status.JobName == "" {
		return nil
	}
	switch h.Cleanup {
	case rampv1.JobCleanupNever:
		return nil
	case rampv1.JobCleanupAlways:
	default:
		if run.Status.Phase != rampv1.HookSuccessful {
			return nil
		}
	}
	return r.deleteJob(ctx, run)
}

func (r *Reconciler) deleteJob(ctx context.Context, run *rampv1.HookRun) error {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: run.Namespace, Name: jobName(run)}}
	err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))
	return client.IgnoreNotFound(err)
}

// jobName is the run's name, shortened with a hash to the 63 characters
// Kubernetes allows a Job (its name becomes a label value of its pods).
func jobName(run *rampv1.HookRun) string { return shortName(run.Name, 63) }

// shortName keeps name if it fits in n characters, else cuts it and
// appends a hash of the whole, so that distinct names stay distinct.
func shortName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:n-11], "-.") + "-" + hex.EncodeToString(sum[:])[:10]
}

func appendAttempt(list []rampv1.HookAttempt, a rampv1.HookAttempt) []rampv1.HookAttempt {
	list = append(list, a)
	if len(list) > keptAttempts {
		list = list[len(list)-keptAttempts:]
	}
	return list
}

func eventType(ok bool) string {
	if ok {
		return corev1.EventTypeNormal
	}
	return corev1.EventTypeWarning
}

// SetupWithManager registers the HookRun reconciler; it watches the Jobs
// its runs own.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&rampv1.HookRun{}).
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Concurrency)})
	return r.Shards.Complete(b, r, mgr.GetCache(), func() client.ObjectList { return &rampv1.HookRunList{} },
		shard.ByRollout(mgr.GetCache(), func() client.Object { return &rampv1.HookRun{} }))
}
