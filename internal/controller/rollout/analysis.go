package rollout

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/strategy"
	"github.com/rampcd/ramp/internal/traffic/routers"
)

// runName names the AnalysisRun of one step (or the background analysis)
// of one attempt of a canary, so that every pass finds the same one.
func runName(st *rolloutState, step string) string {
	return fmt.Sprintf("%s-%s-%d-%s", st.ro.Name, st.canary.hash, max(st.ro.Status.CanaryAttempt, 1), step)
}

// ensureRun returns the named AnalysisRun, creating it from the templates
// if it does not exist yet.
func (r *Reconciler) ensureRun(ctx context.Context, st *rolloutState, name string, step *rampv1.AnalysisStep, background bool) (*rampv1.AnalysisRun, error) {
	run := &rampv1.AnalysisRun{}
	err := r.Get(ctx, client.ObjectKey{Namespace: st.ro.Namespace, Name: name}, run)
	if err == nil || !apierrors.IsNotFound(err) {
		return run, err
	}
	run, err = r.newRun(ctx, st, name, step, background)
	if err != nil {
		return nil, err
	}
	if err := r.Create(ctx, run); err != nil {
		return nil, fmt.Errorf("create AnalysisRun %s: %w", name, err)
	}
	st.news.done(run, corev1.EventTypeNormal, "AnalysisStarted", "Analyze", "Started AnalysisRun %s (%s)", name, templateNames(step))
	return run, nil
}

// newRun builds a run from the step's templates: their metrics, and their
// arguments with the step's values.
func (r *Reconciler) newRun(ctx context.Context, st *rolloutState, name string, step *rampv1.AnalysisStep, background bool) (*rampv1.AnalysisRun, error) {
	var templates []analysis.Template
	for _, ref := range step.Templates {
		tmpl, err := r.template(ctx, st.ro.Namespace, ref)
		if err != nil {
			return nil, err
		}
		templates = append(templates, analysis.Template{Name: ref.TemplateName, Spec: tmpl})
	}
	spec, err := analysis.Assemble(templates, step.Args)
	if err != nil {
		return nil, &specError{reason: "InvalidAnalysis", message: err.Error()}
	}
	spec.UntilTerminated = background
	spec.Context = runContext(st)
	stepLabel := strategy.BackgroundStep
	if !background {
		stepLabel = strconv.Itoa(int(*st.ro.Status.CurrentStepIndex))
	}
	run := &rampv1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: st.ro.Namespace,
			Labels: map[string]string{
				rampv1.LabelRollout: st.ro.Name, rampv1.LabelRevision: st.canary.hash, rampv1.LabelRunStep: stepLabel,
				rampv1.LabelManagedBy: rampv1.ManagedBy,
			},
		},
		Spec: spec,
	}
	if err := controllerutil.SetControllerReference(st.ro, run, r.Scheme); err != nil {
		return nil, err
	}
	return run, nil
}

// runContext names the canary for a run's templates, the Services as its
// router names them.
func runContext(st *rolloutState) rampv1.AnalysisContext {
	c := rampv1.AnalysisContext{Rollout: st.ro.Name, StableRevision: st.stable.hash}
	if st.stable.external {
		c.StableReplicaSet = st.stable.rs.Name
	}
	c.StableService, c.CanaryService = routers.For(st.ro).AnalysisServices(st.ro)
	if st.canary != nil {
		c.CanaryRevision = st.canary.hash
	}
	return c
}

// template reads an AnalysisTemplate or a ClusterAnalysisTemplate.
func (r *Reconciler) template(ctx context.Context, namespace string, ref rampv1.TemplateRef) (*rampv1.AnalysisTemplateSpec, error) {
	var (
		err  error
		spec rampv1.AnalysisTemplateSpec
		kind = "AnalysisTemplate"
	)
	if ref.ClusterScope {
		kind = "ClusterAnalysisTemplate"
		t := &rampv1.ClusterAnalysisTemplate{}
		err = r.Get(ctx, client.ObjectKey{Name: ref.TemplateName}, t)
		spec = t.Spec
	} else {
		t := &rampv1.AnalysisTemplate{}
		err = r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.TemplateName}, t)
		spec = t.Spec
	}
	if apierrors.IsNotFound(err) {
		return nil, &specError{reason: "AnalysisTemplateNotFound", retry: true, message: fmt.Sprintf(
			"%s %q not found; create it or fix templateName", kind, ref.TemplateName)}
	}
	return &spec, err
}

func runProgress(run *rampv1.AnalysisRun) string {
	if run.Status.Phase == "" {
		return "starting"
	}
	var n int32
	for _, m := range run.Status.MetricResults {
		n += m.Count
	}
	return fmt.Sprintf("%s, %d measurements", run.Status.Phase, n)
}

func templateNames(step *rampv1.AnalysisStep) string {
	names := make([]string, len(step.Templates))
	for i, t := range step.Templates {
		names[i] = t.TemplateName
	}
	return fmt.Sprint(names)
}
