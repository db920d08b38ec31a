package validation

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/internal/traffic/routers"
)

// Routing finds what a Rollout's router needs from the cluster and lacks:
// the API of its routing kind, the root Service, the routing objects that
// are the user's to create (an HTTPRoute, a VirtualService and its
// DestinationRule). The controller finds the same on every pass, as
// routing faults; admission and `ramp lint --cluster` find them before.
func Routing(ctx context.Context, r client.Reader, mapper meta.RESTMapper, ro *rampv1.Rollout) (field.ErrorList, error) {
	d := routers.For(ro)
	strategy := field.NewPath("spec", "strategy", "canary")
	if ro.Spec.Strategy.BlueGreen != nil {
		strategy = field.NewPath("spec", "strategy", "blueGreen")
		ro = ro.DeepCopy()
		ro.Normalize()
	}
	res := &resolver{ctx: ctx, r: r, ns: ro.Namespace}
	if ro.Spec.Service != "" {
		if !res.get(client.ObjectKey{Namespace: ro.Namespace, Name: ro.Spec.Service}, &corev1.Service{}) {
			res.errs = append(res.errs, notFound(field.NewPath("spec", "service"), ro.Spec.Service,
				"the root Service clients call is not in namespace "+ro.Namespace+"; create it or fix the name"))
		}
	}
	if !d.Mesh {
		return res.errs, res.err
	}
	path := strategy.Child("trafficRouting")
	for _, obj := range d.Objects(ro) {
		kindName, name, _ := strings.Cut(obj, "/")
		for _, k := range d.Kinds {
			if k.Kind != kindName || k.Created {
				continue
			}
			v, served, err := traffic.ServedVersion(mapper, k.GroupKind, k.Versions)
			switch {
			case err != nil:
				return res.errs, err
			case !served:
				res.errs = append(res.errs, field.Invalid(path, d.Name, fmt.Sprintf(
					"the cluster serves no %s API at %s: install %s, or choose another router", k.GroupKind, strings.Join(k.Versions, " or "), d.Name)))
				continue
			}
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(k.WithVersion(v))
			if !res.get(client.ObjectKey{Namespace: ro.Namespace, Name: name}, u) {
				res.errs = append(res.errs, notFound(path, kindName+"/"+name,
					kindName+" not found in namespace "+ro.Namespace+"; create it or fix the name"))
			}
		}
	}
	return res.errs, res.err
}
