// Package job measures a metric by running a test in the cluster: each
// measurement is a Job (the same as a job step's), and its success or
// failure is the result. A Job outlives a reconcile pass: the first ask
// creates it, owned by the run and named after the measurement, later asks
// read it, so that a restarted controller finds the Job it started.
package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/hooks"
)

// Labels on a measurement's Job: the AnalysisRun and the metric it
// measures for.
const (
	LabelRun    = "ramp.dev/analysisrun"
	LabelMetric = "ramp.dev/metric"
)

// Provider runs Jobs.
type Provider struct {
	Client client.Client
	// Run owns the Jobs; nil outside a run (see Once).
	Run *rampv1.AnalysisRun
}

var _ analysis.Provider = Provider{}

// outcome is a Job's outcome, the result conditions see:
// result.succeeded, result.job, result.message.
func outcome(job string, succeeded bool, message string) map[string]any {
	return map[string]any{"job": job, "succeeded": succeeded, "message": message}
}

// Measure starts the Job of the metric's next measurement, or reads it:
// analysis.ErrPending until it is over, then its outcome. The Job stays
// until the run's status records the measurement (Cleanup): deleted
// before, a pass whose status write failed would start it again.
func (p Provider) Measure(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	if p.Run == nil {
		return p.once(ctx, m, vars)
	}
	name := Name(p.Run.Name, m.Name, next(p.Run, m.Name))
	job := &batchv1.Job{}
	err := p.Client.Get(ctx, client.ObjectKey{Namespace: p.Run.Namespace, Name: name}, job)
	if apierrors.IsNotFound(err) {
		job = p.newJob(m, vars, name)
		job.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(p.Run, rampv1.GroupVersion.WithKind("AnalysisRun"))}
		if err := p.Client.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create Job %s: %w", name, err)
		}
		return nil, fmt.Errorf("%w: Job %s started", analysis.ErrPending, name)
	}
	if err != nil {
		// Asked again at the next pass: an error here would be recorded
		// as the measurement, and the running Job's outcome never read.
		return nil, fmt.Errorf("%w: Job %s: %v", analysis.ErrPending, name, err)
	}
	done, succeeded, message := hooks.JobVerdict(job)
	if !done {
		return nil, fmt.Errorf("%w: Job %s running", analysis.ErrPending, name)
	}
	return outcome(name, succeeded, message), nil
}

// Cleanup deletes, as the metric's cleanup policy says, the finished Jobs
// of the measurements the run's status records: all of the metric's but
// the next one's. The run must be as read from the cluster, before this
// pass changes its status.
func (p Provider) Cleanup(ctx context.Context, m *rampv1.Metric) error {
	var jobs batchv1.JobList
	if err := p.Client.List(ctx, &jobs, client.InNamespace(p.Run.Namespace),
		client.MatchingLabels{LabelRun: labelValue(p.Run.Name), LabelMetric: m.Name}); err != nil {
		return err
	}
	pending := Name(p.Run.Name, m.Name, next(p.Run, m.Name))
	for i := range jobs.Items {
		job := &jobs.Items[i]
		done, succeeded, _ := hooks.JobVerdict(job)
		if job.Name == pending || !done || job.DeletionTimestamp != nil || !clean(m.Provider.Job.Cleanup, succeeded) {
			continue
		}
		if err := p.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete Job %s: %w", job.Name, err)
		}
	}
	return nil
}

// Stop deletes the Job of a measurement in progress: the run was
// terminated, or decided by another metric.
func (p Provider) Stop(ctx context.Context, m *rampv1.Metric) error {
	job := &batchv1.Job{}
	err := p.Client.Get(ctx, client.ObjectKey{Namespace: p.Run.Namespace, Name: Name(p.Run.Name, m.Name, next(p.Run, m.Name))}, job)
	if err != nil || job.DeletionTimestamp != nil {
		return client.IgnoreNotFound(err)
	}
	return client.IgnoreNotFound(p.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)))
}

// once runs one Job to its end, for a measurement outside a run, and
// deletes it.
func (p Provider) once(ctx context.Context, m *rampv1.Metric, vars analysis.Vars) (analysis.Result, error) {
	job := p.newJob(m, vars, "")
	job.GenerateName = "ramp-try-" + trim(m.Name, 40) + "-"
	if err := p.Client.Create(ctx, job); err != nil {
		return nil, fmt.Errorf("create Job: %w", err)
	}
	defer func() {
		_ = p.Client.Delete(context.WithoutCancel(ctx), job, client.PropagationPolicy(metav1.DeletePropagationBackground))
	}()
	var res map[string]any
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if err := p.Client.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			return false, err
		}
		done, succeeded, message := hooks.JobVerdict(job)
		res = outcome(job.Name, succeeded, message)
		return done, nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for Job %s: %w", job.Name, err)
	}
	return res, nil
}

func (p Provider) newJob(m *rampv1.Metric, vars analysis.Vars, name string) *batchv1.Job {
	values := hooks.Values{
		"Rollout": vars.Rollout, "Namespace": vars.Namespace,
		"StableRevision": vars.StableRevision, "CanaryRevision": vars.CanaryRevision,
		"StableService": vars.StableService, "CanaryService": vars.CanaryService,
	}
	labels := map[string]string{rampv1.LabelManagedBy: rampv1.ManagedBy}
	if p.Run != nil {
		labels[LabelRun], labels[LabelMetric] = labelValue(p.Run.Name), m.Name
		if ro := p.Run.Labels[rampv1.LabelRollout]; ro != "" {
			labels[rampv1.LabelRollout] = ro
		}
	}
	return hooks.NewJob(vars.Namespace, name, m.Provider.Job, values, labels)
}

// next is the number of a metric's next measurement in run.
func next(run *rampv1.AnalysisRun, metric string) int32 {
	for _, r := range run.Status.MetricResults {
		if r.Name == metric {
			return r.Count + 1
		}
	}
	return 1
}

// Name is the Job of a metric's nth measurement in a run: within the 63
// characters a Job's name may have, with a hash of what was cut.
func Name(run, metric string, n int32) string {
	return fit(fmt.Sprintf("%s-%s-%d", run, metric, n), fmt.Sprintf("-%d", n))
}

// labelValue is a run's name as a label value (63 characters at most).
func labelValue(run string) string { return fit(run, "") }

// fit cuts s to 63 characters, ending in a hash of all of it and suffix.
func fit(s, suffix string) string {
	if len(s) <= 63 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	suffix = "-" + hex.EncodeToString(sum[:])[:8] + suffix
	return trim(s, 63-len(suffix)) + suffix
}

func trim(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	for len(s) > 0 && s[len(s)-1] == '-' {
		s = s[:len(s)-1]
	}
	return s
}

// clean says whether a finished Job is deleted.
func clean(policy rampv1.JobCleanup, succeeded bool) bool {
	switch policy {
	case rampv1.JobCleanupAlways:
		return true
	case rampv1.JobCleanupNever:
		return false
	}
	return succeeded
}
