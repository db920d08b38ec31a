// Package analysisrun is the AnalysisRun reconciler: it takes each run's
// measurements when they are due, with the providers of package
// analysis, and records them and the run's verdict in its status, which
// the Rollout reconciler reads.
package analysisrun

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/providers"
	"github.com/rampcd/ramp/internal/outbound"
	"github.com/rampcd/ramp/internal/shard"
)

// Reconciler takes the measurements of AnalysisRuns. Each
// measurement is recorded in the run's status as it is taken, and the next
// one is due an interval after it, so a restarted controller carries on
// where the last one stopped without measuring twice.
type Reconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
	// Shards, when set, limits the reconciler to the runs of the Rollouts
	// in this replica's shards.
	Shards *shard.Set
	// Concurrency is how many runs measure at once (default 10).
	Concurrency int
}

// +kubebuilder:rbac:groups=ramp.dev,resources=analysisruns,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=ramp.dev,resources=analysisruns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ramp.dev,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reconcile takes the measurements that are due and settles the run.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	run := &rampv1.AnalysisRun{}
	if err := r.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if run.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	r.cleanup(ctx, run)
	if run.Status.Phase.Done() {
		return ctrl.Result{}, nil
	}
	orig := run.DeepCopy()
	next := r.measure(ctx, run)
	if !equality.Semantic.DeepEqual(orig.Status, run.Status) {
		err := r.Status().Patch(ctx, run, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: retryDelay}, nil
		}
		if err != nil {
			return ctrl.Result{}, err
		}
	}
	if run.Status.Phase.Done() {
		runs.WithLabelValues(string(run.Status.Phase)).Inc()
		typ := corev1.EventTypeNormal
		if run.Status.Phase != rampv1.AnalysisSuccessful {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(run, nil, typ, "Analysis"+string(run.Status.Phase), "Analyze", "%s", verdictNote(run))
		return ctrl.Result{}, nil
	}
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(r.Clock.Now()), time.Millisecond)}, nil
}

// measure takes the due measurements of run, updating its status, and
// returns when the next one is due (zero if none is).
func (r *Reconciler) measure(ctx context.Context, run *rampv1.AnalysisRun) time.Time {
	s := &run.Status
	now := r.Clock.Now()
	if s.StartedAt == nil {
		s.StartedAt = microTime(now)
		s.Phase = rampv1.AnalysisRunning
	}
	results := map[string]*rampv1.MetricResult{}
	for i := range s.MetricResults {
		results[s.MetricResults[i].Name] = &s.MetricResults[i]
	}
	vars := analysis.NewVars(run.Namespace, &run.Spec)
	env := analysis.Env{Secrets: outbound.SecretReader{Client: r.Client, Namespace: run.Namespace}, Client: r.Client, Run: run}
	var next time.Time
	for i := range run.Spec.Metrics {
		m := &run.Spec.Metrics[i]
		res, ok := results[m.Name]
		if !ok {
			s.MetricResults = append(s.MetricResults, rampv1.MetricResult{Name: m.Name, Phase: rampv1.AnalysisRunning})
			res = &s.MetricResults[len(s.MetricResults)-1]
			results = reindex(s.MetricResults)
		}
		if run.Spec.Terminate {
			if p, ok := providers.For(m, env).(stopper); ok {
				if err := p.Stop(ctx, m); err != nil {
					log.FromContext(ctx).Error(err, "stop the measurement in progress", "metric", m.Name)
				}
			}
			analysis.Terminate(res)
			continue
		}
		conds, err := analysis.Compile(m)
		if err != nil {
			// A condition that does not compile can never pass.
			res.Phase, res.Message = rampv1.AnalysisFailed, err.Error()
			continue
		}
		due, ok := analysis.Due(m, res, s.StartedAt.Time)
		if !ok {
			continue
		}
		if due.After(now) {
			next = earliest(next, due)
			continue
		}
		ms := analysis.Take(ctx, providers.For(m, env), m, conds, vars, r.Clock.Now)
		if ms.Phase == rampv1.AnalysisRunning {
			// A measurement that takes a while (a Job): its end wakes
			// the run, and a poll makes sure of it.
			res.Message = fmt.Sprintf("metric %s: %s", m.Name, ms.Message)
			next = earliest(next, now.Add(pendingPoll))
			continue
		}
		measurements.WithLabelValues(providers.Name(m), string(ms.Phase)).Inc()
		if ms.Phase == rampv1.AnalysisError {
			ms.Message = fmt.Sprintf("metric %s: %s", m.Name, ms.Message)
		}
		analysis.Record(m, res, ms, run.Spec.UntilTerminated)
		if due, ok := analysis.Due(m, res, s.StartedAt.Time); ok {
			next = earliest(next, due)
		}
	}
	s.Phase, s.Message = analysis.Verdict(s.MetricResults)
	if s.Phase == rampv1.AnalysisPending {
		s.Phase = rampv1.AnalysisRunning
	}
	return next
}

// cleanup lets providers remove what the measurements that run's status
// records left behind (finished Jobs): the status is as read, so those
// measurements are recorded for good. Once the run is over, a measurement
// still in progress (another metric decided the run) is stopped. A
// failure is logged, and tried again at the next pass.
func (r *Reconciler) cleanup(ctx context.Context, run *rampv1.AnalysisRun) {
	env := analysis.Env{Client: r.Client, Run: run}
	for i := range run.Spec.Metrics {
		m := &run.Spec.Metrics[i]
		p := providers.For(m, env)
		if c, ok := p.(cleaner); ok {
			if err := c.Cleanup(ctx, m); err != nil {
				log.FromContext(ctx).Error(err, "clean up after measurements", "metric", m.Name)
			}
		}
		if s, ok := p.(stopper); ok && run.Status.Phase.Done() {
			if err := s.Stop(ctx, m); err != nil {
				log.FromContext(ctx).Error(err, "stop the measurement in progress", "metric", m.Name)
			}
		}
	}
}

// cleaner is a provider that leaves objects behind its measurements.
type cleaner interface {
	Cleanup(ctx context.Context, m *rampv1.Metric) error
}

// pendingPoll is how often a measurement in progress is looked at, besides
// the watch on what it runs.
const pendingPoll = 5 * time.Second

// stopper is a provider whose measurement in progress must be stopped when
// its run is terminated (a Job).
type stopper interface {
	Stop(ctx context.Context, m *rampv1.Metric) error
}

func reindex(results []rampv1.MetricResult) map[string]*rampv1.MetricResult {
	m := make(map[string]*rampv1.MetricResult, len(results))
	for i := range results {
		m[results[i].Name] = &results[i]
	}
	return m
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func verdictNote(run *rampv1.AnalysisRun) string {
	if run.Status.Message == "" {
		return "analysis " + string(run.Status.Phase)
	}
	return run.Status.Message
}

// SetupWithManager registers the AnalysisRun reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&rampv1.AnalysisRun{}).
		// The Jobs of job metrics: their end wakes their run.
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Concurrency)})
	return r.Shards.Complete(b, r, mgr.GetCache(), func() client.ObjectList { return &rampv1.AnalysisRunList{} },
		shard.ByRollout(mgr.GetCache(), func() client.Object { return &rampv1.AnalysisRun{} }))
}
