package deployfile

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// traffic sets the Rollout's routing from the trafficManagement entries
// for the target whose root Service selects its pods.
func (t *translator) traffic(target string, ro *rampv1.Rollout, docs []*unstructured.Unstructured) {
	for i, tm := range t.f.TrafficManagement {
		if len(tm.Targets) > 0 && !slices.Contains(tm.Targets, target) {
			continue
		}
		for j, k := range tm.Kubernetes {
			if selects(docs, k.ActiveService, ro) {
				t.fail(fmt.Sprintf("trafficManagement[%d].kubernetes[%d]", i, j),
					"names the active and preview Services of a blue/green, but target %s deploys Rollout %s with a canary", target, ro.Name)
			}
		}
		for j, smi := range tm.SMI {
			field := fmt.Sprintf("trafficManagement[%d].smi[%d]", i, j)
			if !selects(docs, smi.RootServiceName, ro) {
				continue
			}
			t.routed[target+" "+field] = true
			if ro.Spec.Strategy.Canary.TrafficRouting != nil {
				t.fail(field, "Rollout %s is routed twice", ro.Name)
				continue
			}
			ro.Spec.Service = smi.RootServiceName
			ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{
				SMI: &rampv1.SMIRouting{TrafficSplitName: smi.TrafficSplitName}, CanaryServiceName: smi.CanaryServiceName,
			}
		}
		for j, is := range tm.Istio {
			field := fmt.Sprintf("trafficManagement[%d].istio[%d]", i, j)
			if n := countKind(docs, "Deployment"); n > 1 {
				t.fail(field, "the target deploys %d Deployments and the entry does not say which it routes; deploy each to its own target", n)
				continue
			}
			root := rootService(docs, ro)
			if root == "" {
				t.fail(field, "no Service among the target's manifests selects the pods of Deployment %s", ro.Name)
				continue
			}
			if ro.Spec.Strategy.Canary.TrafficRouting != nil {
				t.fail(field, "Rollout %s is routed twice", ro.Name)
				continue
			}
			ro.Spec.Service = root
			ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{Istio: &rampv1.IstioRouting{
				VirtualService: rampv1.IstioVirtualService{Name: is.VirtualService.Name, HTTPRouteName: is.VirtualService.HTTPRouteName},
				DestinationRule: rampv1.IstioDestinationRule{Name: is.DestinationRule.Name,
					StableSubsetName: is.DestinationRule.ActiveSubsetName, CanarySubsetName: is.DestinationRule.CanarySubsetName},
			}}
		}
	}
}

// selects reports whether the Service named name, among docs, selects the
// Rollout's pods (or, not among them, whether the Rollout is the only
// Deployment, as CD-as-a-Service assumed).
func selects(docs []*unstructured.Unstructured, name string, ro *rampv1.Rollout) bool {
	deployments := 0
	for _, d := range docs {
		if d.GetKind() == "Deployment" {
			deployments++
		}
		if d.GetKind() == "Service" && d.GetName() == name {
			sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector")
			return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(ro.Spec.Template.Labels))
		}
	}
	return deployments == 1
}

func countKind(docs []*unstructured.Unstructured, kind string) int {
	n := 0
	for _, d := range docs {
		if d.GetKind() == kind {
			n++
		}
	}
	return n
}

// rootService is the Service among docs that selects the Rollout's pods.
func rootService(docs []*unstructured.Unstructured, ro *rampv1.Rollout) string {
	for _, d := range docs {
		if d.GetKind() == "Service" && selects(docs, d.GetName(), ro) {
			return d.GetName()
		}
	}
	return ""
}

// blueGreenServices names a blue/green Rollout's active and preview
// Services: from its strategy, or from the trafficManagement kubernetes
// entry for the target whose active Service selects its pods.
func (t *translator) blueGreenServices(target, field string, ro *rampv1.Rollout, docs []*unstructured.Unstructured) {
	bg := ro.Spec.Strategy.BlueGreen
	for i, tm := range t.f.TrafficManagement {
		if len(tm.Targets) > 0 && !slices.Contains(tm.Targets, target) {
			continue
		}
		if len(tm.SMI) > 0 || len(tm.Istio) > 0 {
			t.fail(fmt.Sprintf("trafficManagement[%d]", i),
				"smi and istio entries route canaries; target %s deploys Rollout %s with blue/green, which takes a kubernetes entry (activeService, previewService)", target, ro.Name)
		}
		for j, k := range tm.Kubernetes {
			kf := fmt.Sprintf("trafficManagement[%d].kubernetes[%d]", i, j)
			switch {
			case k.ActiveService == "":
				t.fail(kf+".activeService", "required")
			case !selects(docs, k.ActiveService, ro):
			case bg.ActiveService != "" && (bg.ActiveService != k.ActiveService || (k.PreviewService != "" && bg.PreviewService != k.PreviewService)):
				t.fail(kf, "names other Services (%s, %s) than %s (%s, %s) for Rollout %s; name them once",
					k.ActiveService, k.PreviewService, field, bg.ActiveService, bg.PreviewService, ro.Name)
			default:
				bg.ActiveService, bg.PreviewService = k.ActiveService, k.PreviewService
			}
		}
	}
	if bg.ActiveService == "" {
		t.fail(field+".activeService", "Rollout %s needs an active Service: name it here or in a trafficManagement kubernetes entry", ro.Name)
	}
}

// unrouted reports the smi entries for a target that route none of its
// Rollouts: their canaries would run with pod-ratio traffic in silence.
func (t *translator) unrouted(target string, tp *TargetPlan) {
	if len(tp.Rollouts) == 0 {
		return // nothing to route: the entry is for the target's other kinds
	}
	names := make([]string, len(tp.Rollouts))
	for i, r := range tp.Rollouts {
		names[i] = r.Name
	}
	for i, tm := range t.f.TrafficManagement {
		if len(tm.Targets) > 0 && !slices.Contains(tm.Targets, target) {
			continue
		}
		for j, smi := range tm.SMI {
			field := fmt.Sprintf("trafficManagement[%d].smi[%d]", i, j)
			if !t.routed[target+" "+field] {
				t.fail(field+".rootServiceName", "Service %q selects no Deployment of target %s (%s), so their canaries would shift traffic by pod ratio, not by SMI weights: name the Service that selects the Deployment's pods, or fix its selector",
					smi.RootServiceName, target, strings.Join(names, ", "))
			}
		}
	}
}

// retargetAutoscalers points the target's HorizontalPodAutoscalers that
// scale a Deployment turned into a Rollout at the Rollout (its scale
// subresource): the Deployment is never applied, so they would scale
// nothing.
func retargetAutoscalers(docs []*unstructured.Unstructured, rollouts []Ref) {
	for _, d := range docs {
		if d.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		ref, _, _ := unstructured.NestedStringMap(d.Object, "spec", "scaleTargetRef")
		if ref["kind"] != "Deployment" || !strings.HasPrefix(ref["apiVersion"], "apps/") ||
			!slices.ContainsFunc(rollouts, func(r Ref) bool { return r.Name == ref["name"] && r.Namespace == d.GetNamespace() }) {
			continue
		}
		_ = unstructured.SetNestedField(d.Object, rampv1.GroupVersion.String(), "spec", "scaleTargetRef", "apiVersion")
		_ = unstructured.SetNestedField(d.Object, "Rollout", "spec", "scaleTargetRef", "kind")
	}
}
