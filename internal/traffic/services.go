package traffic

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Kube is what routers need to read and write the cluster.
type Kube struct {
	Client client.Client
	Scheme *runtime.Scheme
}

// LabelRollout marks the objects Ramp creates for a Rollout.
const LabelRollout = rampv1.LabelRollout

// ForeignRevisionLabels are the labels by which other controllers tell a
// revision's pods apart: Argo Rollouts' and the Deployment controller's
// pod-template hashes. Pods Ramp took over carry one; Ramp never selects
// by it, and drops it where it takes over a selector.
var ForeignRevisionLabels = []string{"rollouts-pod-template-hash", "pod-template-hash"}

// ArgoManagedByAnnotation is what Argo Rollouts writes on the stable and
// canary Services it manages: the name of their Rollout.
const ArgoManagedByAnnotation = "argo-rollouts.argoproj.io/managed-by-rollouts"

// StableServiceName is the Service of the stable revision.
func StableServiceName(ro *rampv1.Rollout) string {
	if tr := ro.Spec.Strategy.Canary.TrafficRouting; tr != nil && tr.StableServiceName != "" {
		return tr.StableServiceName
	}
	return ro.Spec.Service + "-stable"
}

// CanaryServiceName is the Service of the canary revision.
func CanaryServiceName(ro *rampv1.Rollout) string {
	if tr := ro.Spec.Strategy.Canary.TrafficRouting; tr != nil && tr.CanaryServiceName != "" {
		return tr.CanaryServiceName
	}
	return ro.Spec.Service + "-canary"
}

// RootService reads the Service clients call.
func RootService(ctx context.Context, k Kube, ro *rampv1.Rollout) (*corev1.Service, error) {
	svc := &corev1.Service{}
	err := k.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ro.Spec.Service}, svc)
	if apierrors.IsNotFound(err) {
		return nil, Configf("RootServiceNotFound",
			"spec.service: Service %q not found in namespace %s; create the Service your clients call", ro.Spec.Service, ro.Namespace)
	}
	return svc, err
}

// EnsureServices keeps the stable and canary Services: the root Service's
// ports, and a selector pinned to one revision each. The stable Service is
// written first, so that a promotion points it at the new revision before
// any weight moves.
func EnsureServices(ctx context.Context, k Kube, ro *rampv1.Rollout, root *corev1.Service, t Target) ([]Change, error) {
	if len(ro.Spec.Selector.MatchExpressions) > 0 {
		return nil, Configf("SelectorNotSupported",
			"spec.selector: a mesh router needs matchLabels only (it builds the stable and canary Services' selectors from them)")
	}
	var changes []Change
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{{StableServiceName(ro), t.StableSelector()}, {CanaryServiceName(ro), t.CanarySelector()}} {
		c, err := ensureService(ctx, k, ro, root, s.name, s.labels)
		if err != nil {
			return changes, err
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	return changes, nil
}

func ensureService(ctx context.Context, k Kube, ro *rampv1.Rollout, root *corev1.Service, name string, revision map[string]string) (*Change, error) {
	selector := maps.Clone(ro.Spec.Selector.MatchLabels)
	maps.Copy(selector, revision)
	var ports []corev1.ServicePort
	for _, p := range root.Spec.Ports {
		ports = append(ports, corev1.ServicePort{
			Name: p.Name, Protocol: p.Protocol, AppProtocol: p.AppProtocol, Port: p.Port, TargetPort: p.TargetPort,
		})
	}
	svc := &corev1.Service{}
	err := k.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, svc)
	if apierrors.IsNotFound(err) {
		svc = &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ro.Namespace, Labels: rampv1.CreatedLabels(ro.Name)},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: selector, Ports: ports},
		}
		if err := controllerutil.SetControllerReference(ro, svc, k.Scheme); err != nil {
			return nil, err
		}
		if err := k.Client.Create(ctx, svc); err != nil {
			return nil, fmt.Errorf("create Service %s: %w", name, err)
		}
		return &Change{Object: "Service " + name, Written: svc, Created: true, Detail: "selects " + revisionOf(revision)}, nil
	}
	if err != nil {
		return nil, err
	}
	orig := svc.DeepCopy()
	detail := "selects " + revisionOf(revision)
	switch {
	case metav1.IsControlledBy(svc, ro):
		if equality.Semantic.DeepEqual(svc.Spec.Selector, selector) && samePorts(svc.Spec.Ports, ports) {
			return nil, nil
		}
	case leftFor(svc, ro):
		if err := controllerutil.SetControllerReference(ro, svc, k.Scheme); err != nil {
			return nil, err
		}
		if svc.Labels == nil {
			svc.Labels = map[string]string{}
		}
		maps.Copy(svc.Labels, rampv1.CreatedLabels(ro.Name))
		delete(svc.Annotations, ArgoManagedByAnnotation)
		detail = "taken over; " + detail
	default:
		return nil, Configf("ServiceConflict",
			"Service %s exists and does not belong to Rollout %s; delete it, or name another in spec.strategy.canary.trafficRouting", name, ro.Name)
	}
	svc.Spec.Selector, svc.Spec.Ports = selector, defaultPorts(ports)
	if err := k.Client.Patch(ctx, svc, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, fmt.Errorf("update Service %s: %w", name, err)
	}
	return &Change{Object: "Service " + name, Written: svc, Detail: detail}, nil
}

// leftFor reports whether svc, which no controller owns, was made for a
// Rollout of ro's name and left behind: by Argo Rollouts (its stable or
// canary Service, once its Rollout was deleted), or by Ramp (a Rollout
// deleted with --cascade=orphan). ro takes it over as it takes over the
// pods (see the controller's adopt.go): the routes that name it keep
// their backends.
func leftFor(svc *corev1.Service, ro *rampv1.Rollout) bool {
	if metav1.GetControllerOf(svc) != nil {
		return false
	}
	return svc.Annotations[ArgoManagedByAnnotation] == ro.Name ||
		(svc.Labels[rampv1.LabelManagedBy] == rampv1.ManagedBy && svc.Labels[rampv1.LabelRollout] == ro.Name)
}

// samePorts compares the fields Ramp sets, ignoring those the API server
// fills in (defaulted protocol, node ports).
func samePorts(have, want []corev1.ServicePort) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range want {
		h, w := have[i], want[i]
		if h.Name != w.Name || h.Port != w.Port || h.TargetPort != w.TargetPort ||
			(w.Protocol != "" && h.Protocol != w.Protocol) || !equality.Semantic.DeepEqual(h.AppProtocol, w.AppProtocol) {
			return false
		}
	}
	return true
}

// defaultPorts fills in what the API server would, so that the written
// ports compare equal to what it stores.
func defaultPorts(want []corev1.ServicePort) []corev1.ServicePort {
	out := make([]corev1.ServicePort, len(want))
	copy(out, want)
	for i := range out {
		if out[i].Protocol == "" {
			out[i].Protocol = corev1.ProtocolTCP
		}
		if out[i].TargetPort.IntVal == 0 && out[i].TargetPort.StrVal == "" {
			out[i].TargetPort.IntVal = out[i].Port
		}
	}
	return out
}

// PointServices reads the root Service and points the stable and canary
// Services at t's revisions: the first half of a SetWeight for the routers
// whose backends are Services.
func PointServices(ctx context.Context, k Kube, ro *rampv1.Rollout, t Target) (*corev1.Service, []Change, error) {
	root, err := RootService(ctx, k, ro)
	if err != nil {
		return nil, nil, err
	}
	changes, err := EnsureServices(ctx, k, ro, root, t)
	return root, changes, err
}

// revisionOf describes the pods revision labels select, for events.
func revisionOf(labels map[string]string) string {
	if hash, ok := labels[rampv1.LabelRevision]; ok && len(labels) == 1 {
		return "revision " + hash
	}
	if hash, ok := labels["pod-template-hash"]; ok && len(labels) == 1 {
		return "the Deployment's pods " + hash
	}
	return fmt.Sprint(labels)
}
