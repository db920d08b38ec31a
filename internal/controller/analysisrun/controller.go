// Package analysisrun is the AnalysisRun reconciler: it takes each run's
// measurements when they are due, with the providers of package
// analysis, and records them and the run's verdict in its status, which
// the Rollout reconciler reads.
package analysisrun

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/providers"
	"github.com/rampcd/ramp/internal/outbound"
)

// Reconciler takes the measurements of AnalysisRuns. Each
// measurement is recorded in the run's status as it is taken, and the next
// one is due an interval after it, so a restarted controller carries on
// where the last one stopped without measuring twice.
type Reconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
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
	if run.Status.Phase.Done() || run.DeletionTimestamp != nil {
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
	secrets := outbound.SecretReader{Client: r.Client, Namespace: run.Namespace}
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
		ms := analysis.Take(ctx, providers.For(m, secrets), m, conds, vars, r.Clock.Now)
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
	return ctrl.NewControllerManagedBy(mgr).
		For(&rampv1.AnalysisRun{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Concurrency)}).
		Complete(r)
}
