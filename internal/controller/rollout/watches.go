package rollout

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// What wakes a Rollout besides its own objects: its routing objects and
// its workload (SetupWithManager).

// rolloutsRoutedBy maps a routing object to the Rollouts whose routing
// reads it.
func (r *Reconciler) rolloutsRoutedBy(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list rampv1.RolloutList
		if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{routingIndex: kind + "/" + o.GetName()}); err != nil {
			log.FromContext(ctx).Error(err, "list Rollouts routed by", "kind", kind, "name", o.GetName())
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, ro := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
		}
		return reqs
	}
}

// podCountsChanged passes a Deployment's or StatefulSet's updates that
// change its pod counts or revisions, and not those that only touch its
// conditions' times.
var podCountsChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	switch old := e.ObjectOld.(type) {
	case *appsv1.Deployment:
		cur, ok := e.ObjectNew.(*appsv1.Deployment)
		if !ok {
			return true
		}
		o, c := old.Status, cur.Status
		return o.ObservedGeneration != c.ObservedGeneration || o.Replicas != c.Replicas || o.UpdatedReplicas != c.UpdatedReplicas ||
			o.ReadyReplicas != c.ReadyReplicas || o.AvailableReplicas != c.AvailableReplicas
	case *appsv1.StatefulSet:
		cur, ok := e.ObjectNew.(*appsv1.StatefulSet)
		if !ok {
			return true
		}
		o, c := old.Status, cur.Status
		return o.ObservedGeneration != c.ObservedGeneration || o.Replicas != c.Replicas || o.UpdatedReplicas != c.UpdatedReplicas ||
			o.CurrentReplicas != c.CurrentReplicas || o.ReadyReplicas != c.ReadyReplicas || o.AvailableReplicas != c.AvailableReplicas ||
			o.CurrentRevision != c.CurrentRevision || o.UpdateRevision != c.UpdateRevision
	}
	return true
}}

// rolloutsOfWorkload maps a Deployment or StatefulSet to the Rollouts
// whose workloadRef names it.
func (r *Reconciler) rolloutsOfWorkload(ctx context.Context, o client.Object) []reconcile.Request {
	var list rampv1.RolloutList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{workloadIndex: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list Rollouts adopting Deployment", "deployment", o.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, ro := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
	}
	return reqs
}
