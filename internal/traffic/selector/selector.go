// Package selector switches a blue/green Rollout's traffic with no mesh:
// the active Service's selector names the revision that serves production,
// the preview Service's the revision being checked, and kube-proxy does
// the rest. The weight is 0 or 100, and a switch either way is one write
// to the active Service.
package selector

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
)

// Router is the Service-selector router of one blue/green Rollout.
type Router struct {
	kube traffic.Kube
	ro   *rampv1.Rollout
	bg   *rampv1.BlueGreenStrategy
}

var _ traffic.Router = (*Router)(nil)

// New returns the router of a blue/green Rollout.
func New(k traffic.Kube, ro *rampv1.Rollout) *Router {
	return &Router{kube: k, ro: ro, bg: ro.Spec.Strategy.BlueGreen}
}

// Replicas keeps both revisions at full scale: the switch moves all the
// traffic at once, and a switch back must find the old pods there.
func (r *Router) Replicas(replicas int32, w rampv1.Weight) (int32, int32) {
	return traffic.MeshReplicas(rampv1.CanaryScaleFull, replicas, w)
}

// SetWeight points the preview Service at the canary revision, then the
// active Service at the canary (any weight above 0: blue/green knows only
// 100) or at the stable revision. The preview goes first: it carries no
// production traffic, and a switch is then the active Service's one write.
// At rest, when only the stable revision has pods, both select every pod
// of the Rollout again, as their selectors say: a Service Ramp has just
// adopted (or a Deployment's pods) is never cut off from the pods that
// serve it before Ramp's own are up.
func (r *Router) SetWeight(ctx context.Context, t traffic.Target) ([]traffic.Change, error) {
	if len(t.Routes) > 0 {
		return nil, traffic.NoRoutes()
	}
	active := t.Stable
	if t.Weight > 0 {
		active = t.Canary
	}
	if t.Rest {
		active, t.Canary = "", ""
	}
	var changes []traffic.Change
	c, err := r.point(ctx, r.bg.PreviewServiceName(), t.Canary, nil)
	if c != nil {
		changes = append(changes, *c)
	}
	if err != nil {
		return changes, err
	}
	c, err = r.point(ctx, r.bg.ActiveService, active, &t)
	if c != nil {
		changes = append(changes, *c)
	}
	return changes, err
}

// Verify reads the active Service: the canary has the whole weight when
// the selector names the revision Ramp last switched it to at 100.
func (r *Router) Verify(ctx context.Context) (traffic.Reading, error) {
	svc := &corev1.Service{}
	err := r.kube.Client.Get(ctx, client.ObjectKey{Namespace: r.ro.Namespace, Name: r.bg.ActiveService}, svc)
	if apierrors.IsNotFound(err) {
		return traffic.Reading{}, nil // SetWeight creates it
	}
	if err != nil {
		return traffic.Reading{}, err
	}
	reading := traffic.Reading{Written: traffic.ReadWritten(svc), Generation: svc.Generation}
	if w := reading.Written; w != nil && w.Weight > 0 && svc.Spec.Selector[rampv1.LabelRevision] == w.Canary {
		reading.Weight = w.Weight
	}
	return reading, nil
}

// Cleanup gives the user's Services back selecting every pod of the
// Rollout, without Ramp's revision label and record. Services Ramp created
// go with the Rollout.
func (r *Router) Cleanup(ctx context.Context) ([]traffic.Change, error) {
	var changes []traffic.Change
	for _, name := range []string{r.bg.ActiveService, r.bg.PreviewServiceName()} {
		svc := &corev1.Service{}
		err := r.kube.Client.Get(ctx, client.ObjectKey{Namespace: r.ro.Namespace, Name: name}, svc)
		if apierrors.IsNotFound(err) || (err == nil && metav1.IsControlledBy(svc, r.ro)) {
			continue
		}
		if err != nil {
			return changes, err
		}
		orig := svc.DeepCopy()
		delete(svc.Spec.Selector, rampv1.LabelRevision)
		traffic.MarkWritten(svc, traffic.Target{Rest: true})
		if err := r.kube.Client.Patch(ctx, svc, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return changes, fmt.Errorf("update Service %s: %w", name, err)
		}
		changes = append(changes, traffic.Change{Object: "Service " + name, Written: svc, Detail: "selects every revision again"})
	}
	return changes, nil
}

// point makes the named Service select revision hash ("": any revision),
// creating it when missing; mark, for the active Service, records the
// target written.
func (r *Router) point(ctx context.Context, name, hash string, mark *traffic.Target) (*traffic.Change, error) {
	svc := &corev1.Service{}
	err := r.kube.Client.Get(ctx, client.ObjectKey{Namespace: r.ro.Namespace, Name: name}, svc)
	if apierrors.IsNotFound(err) {
		return r.create(ctx, name, hash, mark)
	}
	if err != nil {
		return nil, err
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, traffic.Configf("ServiceWithoutSelector",
			"Service %s has no selector, so Ramp cannot switch it between revisions; give it the selector of the Rollout's pods (spec.selector.matchLabels)", name)
	}
	orig := svc.DeepCopy()
	if hash == "" {
		delete(svc.Spec.Selector, rampv1.LabelRevision)
	} else {
		svc.Spec.Selector[rampv1.LabelRevision] = hash
	}
	if mark != nil {
		traffic.MarkWritten(svc, *mark)
	}
	if maps.Equal(orig.Spec.Selector, svc.Spec.Selector) && maps.Equal(orig.Annotations, svc.Annotations) {
		return nil, nil
	}
	if err := r.kube.Client.Patch(ctx, svc, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, fmt.Errorf("update Service %s: %w", name, err)
	}
	if orig.Spec.Selector[rampv1.LabelRevision] == hash {
		return nil, nil // Ramp's record alone
	}
	return &traffic.Change{Object: "Service " + name, Written: svc, Detail: selects(hash)}, nil
}

// create builds a missing Service: the preview with the active Service's
// ports, the active with the pod template's container ports.
func (r *Router) create(ctx context.Context, name, hash string, mark *traffic.Target) (*traffic.Change, error) {
	if len(r.ro.Spec.Selector.MatchExpressions) > 0 {
		return nil, traffic.Configf("SelectorNotSupported",
			"spec.selector: Ramp builds Service %s's selector from matchLabels only; use matchLabels, or create the Service yourself", name)
	}
	ports, err := r.ports(ctx, name)
	if err != nil {
		return nil, err
	}
	selector := maps.Clone(r.ro.Spec.Selector.MatchLabels)
	if hash != "" {
		selector[rampv1.LabelRevision] = hash
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.ro.Namespace, Labels: rampv1.CreatedLabels(r.ro.Name)},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: selector, Ports: ports},
	}
	if mark != nil {
		traffic.MarkWritten(svc, *mark)
	}
	if err := controllerutil.SetControllerReference(r.ro, svc, r.kube.Scheme); err != nil {
		return nil, err
	}
	if err := r.kube.Client.Create(ctx, svc); err != nil {
		return nil, fmt.Errorf("create Service %s: %w", name, err)
	}
	return &traffic.Change{Object: "Service " + name, Written: svc, Created: true, Detail: selects(hash)}, nil
}

// selects says what a Service selects, for events: one revision, or ("")
// every pod of the Rollout.
func selects(hash string) string {
	if hash == "" {
		return "selects every pod of the Rollout"
	}
	return "selects revision " + hash
}

// ports are a new Service's ports.
func (r *Router) ports(ctx context.Context, name string) ([]corev1.ServicePort, error) {
	if name != r.bg.ActiveService {
		active := &corev1.Service{}
		err := r.kube.Client.Get(ctx, client.ObjectKey{Namespace: r.ro.Namespace, Name: r.bg.ActiveService}, active)
		if err == nil {
			return copyPorts(active.Spec.Ports), nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	ports := templatePorts(r.ro.Spec.Template)
	if len(ports) == 0 {
		return nil, traffic.Configf("ServiceNotFound",
			"spec.strategy.blueGreen: Service %s not found, and spec.template declares no container ports to build it from; create the Service, or declare the ports", name)
	}
	return ports, nil
}

func copyPorts(in []corev1.ServicePort) []corev1.ServicePort {
	out := make([]corev1.ServicePort, 0, len(in))
	for _, p := range in {
		out = append(out, corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, AppProtocol: p.AppProtocol, Port: p.Port, TargetPort: p.TargetPort})
	}
	return out
}

// templatePorts are a Service port per TCP or UDP container port of the
// pod template, on the same number.
func templatePorts(tmpl *corev1.PodTemplateSpec) []corev1.ServicePort {
	if tmpl == nil {
		return nil
	}
	var ports []corev1.ServicePort
	for _, c := range tmpl.Spec.Containers {
		for _, p := range c.Ports {
			if p.Protocol == corev1.ProtocolSCTP {
				continue
			}
			name := p.Name
			if name == "" {
				name = fmt.Sprintf("port-%d", p.ContainerPort)
			}
			ports = append(ports, corev1.ServicePort{Name: name, Protocol: p.Protocol, Port: p.ContainerPort, TargetPort: intstr.FromInt32(p.ContainerPort)})
		}
	}
	return ports
}
