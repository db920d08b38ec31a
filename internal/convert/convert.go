// Package convert turns Argo Rollouts' manifests (argoproj.io/v1alpha1
// Rollout, AnalysisTemplate, ClusterAnalysisTemplate) into Ramp's. Every
// field of the input is mapped, or refused with its path and the reason;
// an object with a refused field is not converted, since converting the
// rest would change what it does. Objects of other kinds pass through.
package convert

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Group is Argo Rollouts' API group; ArgoVersion the version converted.
const (
	Group       = "argoproj.io"
	ArgoVersion = "argoproj.io/v1alpha1"
)

// Problem is a field of the input that Ramp cannot honour, or that is
// malformed.
type Problem struct {
	// Path is the field's path in the input object, e.g.
	// spec.strategy.canary.steps[2].setCanaryScale.
	Path string
	// Reason says why, and what to do instead.
	Reason string
}

func (p Problem) String() string { return p.Path + ": " + p.Reason }

// Object is one input object and what became of it.
type Object struct {
	In *unstructured.Unstructured
	// Out is Ramp's object, the input itself for a kind that passes
	// through, or nil when a field was refused.
	Out *unstructured.Unstructured
	// Converted is true for an object of Argo's that was converted (or
	// would have been, but for Problems).
	Converted bool
	Problems  []Problem
}

// Objects converts objects read from files or from a cluster. They are
// converted together: a Rollout's root Service or adopted Deployment may
// be found in the objects beside it.
func Objects(in []*unstructured.Unstructured) []Object {
	idx := index(in)
	out := make([]Object, len(in))
	for i, u := range in {
		out[i], _ = one(u, idx)
	}
	return out
}

// one converts an object, and says which rules it applied.
func one(u *unstructured.Unstructured, idx objectIndex) (Object, map[string]bool) {
	o := Object{In: u}
	if u.GroupVersionKind().Group != Group {
		o.Out = u
		return o, nil
	}
	var (
		table map[string]Rule
		build func(c *converter, n *node) runtime.Object
	)
	switch u.GetKind() {
	case "Rollout":
		table, build = RolloutRules, rollout
	case "AnalysisTemplate":
		table = TemplateRules
		build = func(c *converter, n *node) runtime.Object { return template(c, n, &rampv1.AnalysisTemplate{}) }
	case "ClusterAnalysisTemplate":
		table = TemplateRules
		build = func(c *converter, n *node) runtime.Object { return template(c, n, &rampv1.ClusterAnalysisTemplate{}) }
	default:
		// Argo's other kinds are made by its controller (AnalysisRun,
		// Experiment) and have no place in Ramp's manifests.
		o.Converted = true
		o.Problems = []Problem{{Path: "kind", Reason: fmt.Sprintf("Argo Rollouts' %s has no counterpart in Ramp: Ramp converts Rollout, AnalysisTemplate and ClusterAnalysisTemplate", u.GetKind())}}
		return o, nil
	}
	o.Converted = true
	if u.GetAPIVersion() != ArgoVersion {
		o.Problems = []Problem{{Path: "apiVersion", Reason: fmt.Sprintf("%s is not a version ramp convert reads: it converts %s", u.GetAPIVersion(), ArgoVersion)}}
		return o, nil
	}
	c := &converter{rules: table, idx: idx, used: map[string]bool{}}
	// The walk takes fields out of the object: work on a copy.
	n := &node{c: c, m: u.DeepCopy().Object}
	obj := build(c, n)
	n.done()
	o.Problems = c.problems
	if len(o.Problems) > 0 {
		return o, c.used
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		o.Problems = []Problem{{Path: "", Reason: "cannot encode Ramp's object: " + err.Error()}}
		return o, c.used
	}
	// Ramp's object as a user would write it: no status, no empty
	// timestamp.
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	o.Out = &unstructured.Unstructured{Object: m}
	return o, c.used
}

// converter converts one object: the rules of its kind, the objects beside
// it, what it found wrong, and which rules it applied.
type converter struct {
	rules    map[string]Rule
	idx      objectIndex
	problems []Problem
	used     map[string]bool
	// name and namespace of the object ("" when the manifest gives none).
	name, namespace string
	// service is the root Service the ServiceAnnotation names.
	service string
}

// ServiceAnnotation, on an Argo Rollout, names the root Service (Ramp's
// spec.service) where Argo's Rollout does not say it: with Istio or Gateway
// API, whose routing object is not given beside it. It is not copied.
const ServiceAnnotation = "ramp.dev/service"

func (c *converter) problem(path, reason string) {
	c.problems = append(c.problems, Problem{Path: path, Reason: reason})
}

// use records that a rule was applied; a path without a rule is a fault
// of the converter, which the rule table's tests find.
func (c *converter) use(rule string) {
	c.used[rule] = true
}

// knows reports whether the table has a rule for path or below it.
func (c *converter) knows(path string) bool {
	for r := range c.rules {
		if r == path || strings.HasPrefix(r, path+".") || strings.HasPrefix(r, path+"[]") {
			return true
		}
	}
	return false
}

// objectIndex finds the objects given beside a Rollout, by kind and name.
type objectIndex map[string][]*unstructured.Unstructured

func index(objs []*unstructured.Unstructured) objectIndex {
	idx := objectIndex{}
	for _, u := range objs {
		k := u.GroupVersionKind().GroupKind().String() + "/" + u.GetName()
		idx[k] = append(idx[k], u)
	}
	return idx
}

// find returns the object of a group and kind ("DestinationRule.networking.istio.io")
// named name in namespace ns ("" matches objects without one).
func (idx objectIndex) find(groupKind, name, ns string) *unstructured.Unstructured {
	for _, u := range idx[groupKind+"/"+name] {
		if u.GetNamespace() == ns || u.GetNamespace() == "" || ns == "" {
			return u
		}
	}
	return nil
}
