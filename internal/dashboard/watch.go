package dashboard

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/snapshot"
)

// watched are the kinds the pages show, with the resource each is read
// as (for the access check).
var watched = []struct {
	obj      client.Object
	group    string
	resource string
}{
	{&rampv1.Rollout{}, rampv1.GroupVersion.Group, "rollouts"},
	{&rampv1.AnalysisRun{}, rampv1.GroupVersion.Group, "analysisruns"},
	{&rampv1.HookRun{}, rampv1.GroupVersion.Group, "hookruns"},
	{&appsv1.ReplicaSet{}, "apps", "replicasets"},
	{&eventsv1.Event{}, "events.k8s.io", "events"},
}

// NewCache makes the informer cache the dashboard reads: the kinds it
// shows, in namespace (empty: all), ReplicaSets and Events narrowed to
// Ramp's own so a big cluster's others are not held in memory. Every
// change calls changed with the object's namespace. It fails, naming the
// resource and what to do, if the caller may not list and watch one of
// them.
func NewCache(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, namespace string, changed func(namespace string)) (cache.Cache, error) {
	if err := checkAccess(ctx, cfg, scheme, namespace); err != nil {
		return nil, err
	}
	hasRevision, err := labels.NewRequirement(rampv1.LabelRevision, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	opts := cache.Options{
		Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.ReplicaSet{}: {Label: labels.NewSelector().Add(*hasRevision)},
			&eventsv1.Event{}:    {Field: fields.OneTermEqualSelector(snapshot.FieldRegardingKind, "Rollout")},
		},
	}
	if namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	c, err := cache.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := snapshot.IndexEvents(ctx, c); err != nil {
		return nil, err
	}
	handle := func(obj any) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if o, ok := obj.(client.Object); ok {
			changed(o.GetNamespace())
		}
	}
	for _, w := range watched {
		inf, err := c.GetInformer(ctx, w.obj)
		if err != nil {
			return nil, err
		}
		_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    handle,
			UpdateFunc: func(_, obj any) { handle(obj) },
			DeleteFunc: handle,
		})
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkAccess asks the API server whether the caller may list and watch
// every watched kind in namespace, so a missing right is one clear error at
// start rather than an informer retrying forever.
func checkAccess(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, namespace string) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	var denied []string
	for _, w := range watched {
		for _, verb := range []string{"list", "watch"} {
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: w.group, Resource: w.resource},
			}}
			if err := c.Create(ctx, review); err != nil {
				return fmt.Errorf("checking access to %s: %w", w.resource, err)
			}
			if !review.Status.Allowed {
				denied = append(denied, verb+" "+qualified(w.group, w.resource))
			}
		}
	}
	if len(denied) == 0 {
		return nil
	}
	where := "in all namespaces"
	fix := "give -n NAMESPACE to watch one namespace you may read, or ask for these rights (docs/dashboard.md lists them)"
	if namespace != "" {
		where, fix = "in namespace "+namespace, "ask for these rights there (docs/dashboard.md lists them)"
	}
	return fmt.Errorf("your credentials may not %s %s: %s", strings.Join(denied, ", "), where, fix)
}

func qualified(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}
