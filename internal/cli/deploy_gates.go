package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/deployfile"
)

// labelDeployTarget marks the HookRuns and AnalysisRuns of a target's
// gates, so that the next deployment of the target removes them.
const labelDeployTarget = "ramp.dev/deploy-target"

// labelGateEvent tells a target's beforeDeployment runs from its
// afterDeployment ones.
const labelGateEvent = "ramp.dev/deploy-gate"

// gatePoll is how often a gate's run is read while it runs.
const gatePoll = time.Second

// runGates runs a target's gates in order and stops at the first that
// fails. The runs of an earlier deployment of the target are removed
// first: they are kept until then for `kubectl describe`.
func (o *Options) runGates(ctx context.Context, c client.Client, tp deployfile.TargetPlan, event string, gates []deployfile.Gate) error {
	if len(gates) == 0 {
		return nil
	}
	if err := o.removeGateRuns(ctx, c, tp, event); err != nil {
		return err
	}
	for _, g := range gates {
		var err error
		switch {
		case g.Pause > 0:
			fmt.Fprintf(o.Out, "%s: %s: pausing %s\n", tp.Name, g.Field, g.Pause)
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(g.Pause):
			}
		case g.Hook != nil:
			err = o.gateHook(ctx, c, tp, event, g)
		case g.Analysis != nil:
			err = o.gateAnalysis(ctx, c, tp, event, g)
		}
		if err != nil {
			return fmt.Errorf("target %s: %s: %w", tp.Name, g.Field, err)
		}
	}
	return nil
}

func (o *Options) gateHook(ctx context.Context, c client.Client, tp deployfile.TargetPlan, event string, g deployfile.Gate) error {
	run := &rampv1.HookRun{ObjectMeta: gateMeta(tp, event), Spec: *g.Hook.DeepCopy()}
	run.Spec.Context.AnalysisContext = o.gateContext(ctx, c, tp)
	return o.awaitGate(ctx, c, tp, g, "webhook", "hookrun", run, func() (bool, bool, string) {
		s := run.Status
		return s.Phase.Done(), s.Phase == rampv1.HookSuccessful, fmt.Sprintf("%s: %s", strings.ToLower(string(s.Phase)), s.Message)
	})
}

func (o *Options) gateAnalysis(ctx context.Context, c client.Client, tp deployfile.TargetPlan, event string, g deployfile.Gate) error {
	run := &rampv1.AnalysisRun{ObjectMeta: gateMeta(tp, event), Spec: *g.Analysis.DeepCopy()}
	run.Spec.Context = o.gateContext(ctx, c, tp)
	// Nobody judges an inconclusive gate: it fails like a failed one.
	return o.awaitGate(ctx, c, tp, g, "analysis", "analysisrun", run, func() (bool, bool, string) {
		s := run.Status
		return s.Phase.Done(), s.Phase == rampv1.AnalysisSuccessful, fmt.Sprintf("%s: %s", strings.ToLower(string(s.Phase)), s.Message)
	})
}

// awaitGate creates a gate's run and waits for its verdict, which reads
// the run as last fetched: done, passed, and what to say.
func (o *Options) awaitGate(ctx context.Context, c client.Client, tp deployfile.TargetPlan, g deployfile.Gate,
	what, resource string, run client.Object, verdict func() (done, passed bool, message string)) error {
	if err := c.Create(ctx, run); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s: %s: %s running (%s %s/%s)\n", tp.Name, g.Field, what, resource, run.GetNamespace(), run.GetName())
	err := wait.PollUntilContextCancel(ctx, gatePoll, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(run), run)
		done, _, _ := verdict()
		return err == nil && done, client.IgnoreNotFound(err)
	})
	if err != nil {
		return fmt.Errorf("%s (%s %s): %w", what, resource, run.GetName(), err)
	}
	if _, passed, message := verdict(); !passed {
		return fmt.Errorf("%s %s", what, message)
	}
	fmt.Fprintf(o.Out, "%s: %s: %s passed\n", tp.Name, g.Field, what)
	return nil
}

// gateContext names the target's first rollout as it stands, for the
// gate's templates; before the first deployment there is none yet.
func (o *Options) gateContext(ctx context.Context, c client.Client, tp deployfile.TargetPlan) rampv1.AnalysisContext {
	if len(tp.Rollouts) == 0 {
		return rampv1.AnalysisContext{}
	}
	ref := tp.Rollouts[0]
	ac := rampv1.AnalysisContext{Rollout: ref.Name}
	ro := &rampv1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, ro); err == nil {
		ac.StableRevision, ac.CanaryRevision = ro.Status.StableRevision, ro.Status.CanaryRevision
		if ac.CanaryRevision == "" { // promoted: the new version is the stable one
			ac.CanaryRevision = ac.StableRevision
		}
		ac.StableService, ac.CanaryService = ro.Spec.Service, ro.Spec.Service
		if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.TrafficRouting == nil {
			// Without a mesh the active Service is the one clients call.
			ac.StableService, ac.CanaryService = bg.ActiveService, bg.ActiveService
		}
	}
	return ac
}

func gateMeta(tp deployfile.TargetPlan, event string) metav1.ObjectMeta {
	prefix := strings.ToLower(tp.Name + "-" + strings.TrimSuffix(event, "Deployment") + "-")
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	return metav1.ObjectMeta{
		GenerateName: prefix, Namespace: tp.Namespace,
		Labels: map[string]string{labelDeployTarget: labelValue(tp.Name), labelGateEvent: event},
	}
}

func (o *Options) removeGateRuns(ctx context.Context, c client.Client, tp deployfile.TargetPlan, event string) error {
	sel := client.MatchingLabels{labelDeployTarget: labelValue(tp.Name), labelGateEvent: event}
	for _, obj := range []client.Object{&rampv1.HookRun{}, &rampv1.AnalysisRun{}} {
		if err := c.DeleteAllOf(ctx, obj, client.InNamespace(tp.Namespace), sel); err != nil {
			return fmt.Errorf("target %s: remove the runs of an earlier deployment's gates: %w", tp.Name, err)
		}
	}
	return nil
}

// labelValue fits a name into a label value's 63 characters.
func labelValue(s string) string {
	if len(s) > 63 {
		return s[:63]
	}
	return s
}
