package deployfile

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/manifest"
)

// Options are what a deploy file does not say.
type Options struct {
	// Dir is where manifest paths are relative to: the deploy file's.
	Dir string
	// MetricProviders maps a metricProviderName to a Prometheus URL.
	MetricProviders map[string]string
}

// Plan is what to apply, target by target, in dependsOn order (a target
// after those it depends on; independent ones may go side by side).
type Plan struct {
	Targets []TargetPlan
	// Timeout of the whole deployment (deploymentConfig.timeout).
	Timeout time.Duration
}

// TargetPlan is one target's objects.
type TargetPlan struct {
	Name, Account, Namespace string
	// DependsOn names the targets deployed before this one.
	DependsOn []string
	Objects   []*unstructured.Unstructured
	// Rollouts are the Rollouts among Objects, to watch.
	Rollouts []Ref
	// Before gates the target's deployment; After runs once its rollouts
	// are Healthy and gates the targets that depend on it.
	Before, After []Gate
}

// Ref names a namespaced object.
type Ref struct{ Namespace, Name string }

// Translate turns a deploy file into Ramp's objects and the other
// manifests. Every problem is reported, each naming its field.
func Translate(f *File, opts Options) (*Plan, error) {
	t := &translator{f: f, opts: opts, routed: map[string]bool{}}
	plan := &Plan{}
	t.checkTop(plan)
	order, err := targetOrder(f)
	if err != nil {
		t.fail("targets", "%v", err)
	}
	for _, name := range order {
		if tp := t.target(name); tp != nil {
			plan.Targets = append(plan.Targets, *tp)
		}
	}
	if len(t.errs) > 0 {
		return nil, errors.Join(t.errs...)
	}
	return plan, nil
}

type translator struct {
	f    *File
	opts Options
	errs []error
	// routed holds the smi entries ("target field") that routed a Rollout
	// of a target.
	routed map[string]bool
}

func (t *translator) fail(field, format string, args ...any) {
	t.errs = append(t.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func (t *translator) checkTop(plan *Plan) {
	f := t.f
	if f.Version != "v1" {
		t.fail("version", "%q: only v1 exists", f.Version)
	}
	if f.Kind != "kubernetes" {
		t.fail("kind", "%q: only kubernetes is supported", f.Kind)
	}
	if len(f.Targets) == 0 {
		t.fail("targets", "at least one target is required")
	}
	if len(f.Manifests) == 0 {
		t.fail("manifests", "at least one manifest is required")
	}
	if c := f.DeploymentConfig; c != nil {
		if c.Timeout != nil {
			d, err := duration(*c.Timeout)
			if err != nil {
				t.fail("deploymentConfig.timeout", "%v", err)
			}
			plan.Timeout = d
		}
		if c.KeepDeploymentObject != nil && *c.KeepDeploymentObject {
			t.fail("deploymentConfig.keepDeploymentObject", "not supported: a Deployment deployed with a canary becomes a Rollout, which replaces it")
		}
		if c.IfDeploymentInProgress != nil {
			t.fail("deploymentConfig.ifDeploymentInProgress", "not supported: a new version replaces a canary in flight")
		}
	}
	for i, tm := range f.TrafficManagement {
		t.checkTargets(fmt.Sprintf("trafficManagement[%d].targets", i), tm.Targets)
	}
	for i, m := range f.Manifests {
		t.checkTargets(fmt.Sprintf("manifests[%d].targets", i), m.Targets)
	}
}

// checkTargets reports names that are not targets: a typo would deploy
// nothing, or route nothing, in silence.
func (t *translator) checkTargets(field string, names []string) {
	for _, n := range names {
		if _, ok := t.f.Targets[n]; !ok {
			t.fail(field, "%q is not a target (targets: %s)", n, strings.Join(slices.Sorted(maps.Keys(t.f.Targets)), ", "))
		}
	}
}

// target translates the manifests deployed to one target.
func (t *translator) target(name string) *TargetPlan {
	tg := t.f.Targets[name]
	field := "targets." + name
	if tg.Namespace == "" {
		t.fail(field+".namespace", "required")
	}
	strategy, ok := t.f.Strategies[tg.Strategy]
	switch {
	case !ok:
		t.fail(field+".strategy", "%q is not in strategies", tg.Strategy)
		return nil
	case strategy.BlueGreen != nil && strategy.Canary != nil:
		t.fail("strategies."+tg.Strategy, "set canary or blueGreen, not both")
		return nil
	case strategy.BlueGreen != nil:
	case strategy.Canary == nil || len(strategy.Canary.Steps) == 0:
		t.fail("strategies."+tg.Strategy+".canary.steps", "required")
		return nil
	}
	tp := &TargetPlan{Name: name, Account: tg.Account, Namespace: tg.Namespace}
	if tg.Constraints != nil {
		tp.DependsOn = tg.Constraints.DependsOn
	}
	docs := t.manifests(name)
	for _, doc := range docs {
		if doc.GetNamespace() == "" && namespaced(doc) {
			doc.SetNamespace(tg.Namespace)
		}
		if doc.GetKind() != "Deployment" || doc.GetAPIVersion() != "apps/v1" {
			tp.Objects = append(tp.Objects, doc)
			continue
		}
		objs := t.rollout(name, tg, tg.Strategy, strategy, doc, docs)
		tp.Objects = append(tp.Objects, objs...)
		tp.Rollouts = append(tp.Rollouts, Ref{Namespace: doc.GetNamespace(), Name: doc.GetName()})
	}
	retargetAutoscalers(docs, tp.Rollouts)
	t.unrouted(name, tp)
	t.gates(field+".constraints", name, tg, tp)
	return tp
}

// manifests reads the documents deployed to a target.
func (t *translator) manifests(target string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for i, m := range t.f.Manifests {
		field := fmt.Sprintf("manifests[%d]", i)
		if len(m.Targets) > 0 && !slices.Contains(m.Targets, target) {
			continue
		}
		var data [][]byte
		switch {
		case m.Path != "" && m.Inline != "":
			t.fail(field, "set path or inline, not both")
		case m.Inline != "":
			data = append(data, []byte(m.Inline))
		case m.Path != "":
			files, err := manifest.Files(filepath.Join(t.opts.Dir, m.Path))
			if err != nil {
				t.fail(field+".path", "%v", err)
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.fail(field+".path", "%v", err)
				}
				data = append(data, b)
			}
		default:
			t.fail(field, "set path or inline")
		}
		for _, d := range data {
			for _, doc := range manifest.Documents(d) {
				if doc.Err != nil {
					t.fail(field, "document %d: %v", doc.Index, doc.Err)
					continue
				}
				out = append(out, doc.Object)
			}
		}
	}
	return out
}

// rollout turns a Deployment into a Rollout with the strategy's steps and
// the target's traffic management, plus its analysis templates.
func (t *translator) rollout(target string, tg Target, strategyName string, strategy Strategy, doc *unstructured.Unstructured, docs []*unstructured.Unstructured) []*unstructured.Unstructured {
	field := fmt.Sprintf("manifests: Deployment %s", doc.GetName())
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(doc.Object, d); err != nil {
		t.fail(field, "%v", err)
		return nil
	}
	ro := &rampv1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: rampv1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: doc.GetNamespace(), Labels: d.Labels, Annotations: d.Annotations},
		Spec: rampv1.RolloutSpec{
			Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template.DeepCopy(),
			MinReadySeconds: d.Spec.MinReadySeconds,
		},
	}
	if d.Spec.RevisionHistoryLimit != nil {
		ro.Spec.RevisionHistoryLimit = d.Spec.RevisionHistoryLimit
	}
	if d.Spec.ProgressDeadlineSeconds != nil {
		ro.Spec.ProgressDeadlineSeconds = d.Spec.ProgressDeadlineSeconds
	}
	ro.Spec.Paused = d.Spec.Paused
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		t.fail(field+": spec.strategy.type", "Recreate cannot be a canary or blue/green; remove it (the strategy's steps replace the pods)")
	}
	var extra []*unstructured.Unstructured
	scope := t.scope(target, tg)
	steps := func(field string, in []Step, offset int) []rampv1.Step {
		var out []rampv1.Step
		for i, step := range in {
			s, tmpl := t.step(fmt.Sprintf("%s[%d]", field, i), step, ro, offset+i, scope)
			out = append(out, s)
			if tmpl != nil {
				extra = append(extra, toUnstructured(tmpl))
			}
		}
		return out
	}
	if bg := strategy.BlueGreen; bg != nil {
		sf := "strategies." + strategyName + ".blueGreen"
		ro.Spec.Strategy.BlueGreen = &rampv1.BlueGreenStrategy{
			ActiveService: bg.ActiveService, PreviewService: bg.PreviewService, AutoPromotionSeconds: ptr.To[int32](0),
			PrePromotion:  t.noWeights(sf+".redirectTrafficAfter", steps(sf+".redirectTrafficAfter", bg.RedirectTrafficAfter, 0)),
			PostPromotion: t.noWeights(sf+".shutDownOldVersionAfter", steps(sf+".shutDownOldVersionAfter", bg.ShutDownOldVersionAfter, len(bg.RedirectTrafficAfter))),
		}
		t.blueGreenServices(target, sf, ro, docs)
		return append([]*unstructured.Unstructured{toUnstructured(ro)}, extra...)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		ro.Spec.Strategy.Canary.MaxSurge, ro.Spec.Strategy.Canary.MaxUnavailable = ru.MaxSurge, ru.MaxUnavailable
	}
	ro.Spec.Strategy.Canary.Steps = steps("strategies."+strategyName+".canary.steps", strategy.Canary.Steps, 0)
	t.traffic(target, ro, docs)
	return append([]*unstructured.Unstructured{toUnstructured(ro)}, extra...)
}

// noWeights refuses the setWeight steps of a blue/green list: its weight
// goes from 0 to 100 when the traffic is redirected.
func (t *translator) noWeights(field string, steps []rampv1.Step) []rampv1.Step {
	for i, s := range steps {
		if s.SetWeight != nil {
			t.fail(fmt.Sprintf("%s[%d].setWeight", field, i), "blue/green has no weights: the traffic moves all at once after redirectTrafficAfter")
		}
	}
	return steps
}

func (t *translator) scope(target string, tg Target) varScope {
	return varScope{
		literal: map[string]string{
			"armory.applicationName": t.f.Application, "armory.environmentName": target, "armory.accountName": tg.Account,
		},
		ramp: map[string]string{
			"armory.namespace": "{{.Namespace}}", "armory.replicaSetName": "{{.Rollout}}-{{.CanaryRevision}}",
			"armory.callbackUri": "{{.CallbackURL}}",
		},
	}
}

// step translates one canary step; an analysis step also gives its
// AnalysisTemplate.
func (t *translator) step(field string, s Step, ro *rampv1.Rollout, index int, scope varScope) (rampv1.Step, *rampv1.AnalysisTemplate) {
	set := 0
	for _, b := range []bool{s.SetWeight != nil, s.Pause != nil, s.Analysis != nil, s.RunWebhook != nil, s.ExposeServices != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		t.fail(field, "a step sets exactly one of setWeight, pause, analysis, runWebhook")
		return rampv1.Step{}, nil
	}
	switch {
	case s.ExposeServices != nil:
		t.fail(field+".exposeServices", "not supported: Ramp creates the canary Service for mesh routing; expose it yourself")
	case s.SetWeight != nil:
		if s.SetWeight.Weight < 0 || s.SetWeight.Weight > 100 {
			t.fail(field+".setWeight.weight", "%d: must be 0 to 100", s.SetWeight.Weight)
		}
		return rampv1.Step{SetWeight: ptr.To(rampv1.Percent(int64(s.SetWeight.Weight)))}, nil
	case s.Pause != nil:
		return t.pause(field+".pause", s.Pause), nil
	case s.Analysis != nil:
		return t.analysis(field+".analysis", s.Analysis, ro, index, scope)
	case s.RunWebhook != nil:
		return t.webhook(field+".runWebhook", s.RunWebhook, scope), nil
	}
	return rampv1.Step{}, nil
}

func (t *translator) pause(field string, p *Pause) rampv1.Step {
	if p.ApprovalExpiration != nil {
		t.fail(field+".approvalExpiration", "not supported: a pause until approved waits until promoted (ramp promote)")
	}
	if p.UntilApproved {
		if p.Duration != 0 {
			t.fail(field, "set duration or untilApproved, not both")
		}
		return rampv1.Step{Pause: &rampv1.PauseStep{}}
	}
	d, err := duration(Duration{Duration: p.Duration, Unit: p.Unit})
	if err != nil || d <= 0 {
		t.fail(field, "a pause needs a duration and unit, or untilApproved: true")
	}
	return rampv1.Step{Pause: &rampv1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
}

func duration(d Duration) (time.Duration, error) {
	unit := map[string]time.Duration{"seconds": time.Second, "minutes": time.Minute, "hours": time.Hour}[d.Unit]
	if unit == 0 {
		return 0, fmt.Errorf("unit %q: use seconds, minutes or hours", d.Unit)
	}
	return time.Duration(d.Duration) * unit, nil
}

func toUnstructured(obj runtime.Object) *unstructured.Unstructured {
	m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u
}

// namespaced guesses whether a kind lives in a namespace; cluster-scoped
// kinds a deploy file may carry are listed.
func namespaced(u *unstructured.Unstructured) bool {
	switch u.GetKind() {
	case "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass",
		"PriorityClass", "ClusterAnalysisTemplate", "IngressClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
		return false
	}
	return true
}

// targetOrder sorts targets so that each comes after those it dependsOn.
func targetOrder(f *File) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("dependsOn makes a cycle: %s", strings.Join(append(path, name), " → "))
		case 2:
			return nil
		}
		state[name] = 1
		if c := f.Targets[name].Constraints; c != nil {
			for _, dep := range c.DependsOn {
				if _, ok := f.Targets[dep]; !ok {
					return fmt.Errorf("%s.constraints.dependsOn: %q is not a target", name, dep)
				}
				if err := visit(dep, append(path, name)); err != nil {
					return err
				}
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(f.Targets)) {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
