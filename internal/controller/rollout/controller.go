// Package rollout is the Rollout reconciler: a level-triggered step
// machine that derives every decision from the cluster's state and the
// Rollout's status, so a controller killed at any instant continues where
// the last one stopped.
package rollout

import (
	"context"
	"errors"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/shard"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/internal/traffic/routers"
)

// ownerIndex indexes ReplicaSets by the name of the Rollout controlling them.
const ownerIndex = ".metadata.controller.rollout"

// retryDelay is how soon a pass that lost a write race runs again.
const retryDelay = 100 * time.Millisecond

// configRetry is how soon a Rollout waiting on a routing fault looks again.
const configRetry = 30 * time.Second

// routingIndex indexes Rollouts by the routing objects they read ("Kind/name").
const routingIndex = ".spec.strategy.canary.trafficRouting.objects"

// workloadIndex indexes Rollouts by the Deployment their workloadRef names.
const workloadIndex = ".spec.workloadRef.name"

// Reconciler reconciles Rollouts.
type Reconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder recorder.EventRecorder
	// Clock tells the time; tests inject a fake one.
	Clock clock.PassiveClock
	// Shards, when set, limits the reconciler to the Rollouts in this
	// replica's shards.
	Shards *shard.Set
}

// +kubebuilder:rbac:groups=ramp.dev,resources=rollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=ramp.dev,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ramp.dev,resources=rollouts/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;patch;delete
// (Each router's package carries the rights on its routing objects.)

// Reconcile takes one Rollout one pass further.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	ro := &rampv1.Rollout{}
	if err := r.Get(ctx, req.NamespacedName, ro); err != nil {
		if apierrors.IsNotFound(err) {
			forgetRollout(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// A blue/green Rollout is carried out as the canary it amounts to;
	// before any copy is taken, so that no write carries the change.
	ro.Normalize()
	if ro.DeletionTimestamp != nil {
		// Owned objects go with it (garbage collection); routing objects
		// Ramp does not own are given back first.
		requeue, err := r.finalize(ctx, ro)
		return ctrl.Result{RequeueAfter: requeue}, err
	}
	if err := r.ensureFinalizer(ctx, ro); err != nil {
		return ctrl.Result{}, err
	}
	ro.Normalize() // a write reads the Rollout back as stored

	orig := ro.DeepCopy()
	n := &news{}
	defer func() {
		patchErr := r.patchStatus(ctx, orig, ro)
		r.tell(ro, n, patchErr == nil)
		if untold := n.untold(); patchErr != nil && len(untold) > 0 {
			// The next pass takes these decisions again and tells
			// them, unless the write took effect after all (a timeout).
			log.FromContext(ctx).Info("status not written; its decisions are not told", "untold", untold, "error", patchErr.Error())
		}
		switch {
		case patchErr == nil:
			recordRollout(ro)
		case apierrors.IsConflict(patchErr):
			// Someone wrote the Rollout meanwhile: start over from
			// their version rather than overwrite it.
			result, err = ctrl.Result{RequeueAfter: retryDelay}, nil
		default:
			err = errors.Join(err, patchErr)
		}
	}()

	requeue, err := r.reconcile(ctx, ro, n)
	var routeFault *traffic.ConfigError
	if errors.As(err, &routeFault) {
		err = &specError{reason: routeFault.Reason, message: routeFault.Message, retry: true}
	}
	var spec *specError
	switch {
	case errors.As(err, &spec) && spec.retry:
		r.specFault(ro, spec, n)
		if requeue <= 0 || requeue > configRetry {
			requeue = configRetry
		}
		return ctrl.Result{RequeueAfter: requeue}, nil
	case errors.As(err, &spec):
		r.specFault(ro, spec, n)
		return ctrl.Result{}, nil // a change to the Rollout or its workload triggers the next pass
	case errors.Is(err, errCollision) || errors.Is(err, errWorkloadBehind):
		return ctrl.Result{RequeueAfter: retryDelay}, nil
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
		// A write raced another (the ReplicaSet controller, a user): the
		// next pass starts from the newer state.
		log.FromContext(ctx).V(1).Info("write conflict, retrying", "error", err.Error())
		return ctrl.Result{RequeueAfter: retryDelay}, nil
	case err != nil:
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// reconcile runs one pass: observe, decide, act, summarise.
// What it has to tell goes to n.
func (r *Reconciler) reconcile(ctx context.Context, ro *rampv1.Rollout, n *news) (time.Duration, error) {
	tmpl, workload, sts, err := r.podTemplate(ctx, ro)
	if err != nil {
		return 0, err
	}
	replicas := ptr.Deref(ro.Spec.Replicas, 1)
	var inPlace *appsv1.Deployment
	if sts != nil {
		replicas = ptr.Deref(sts.Spec.Replicas, 1) // the StatefulSet's, as in place
	}
	if ro.Spec.InPlaceDeployment() {
		// The Deployment's replicas are the Rollout's (an HPA may move
		// them); Ramp never changes them.
		inPlace, workload, replicas = workload, nil, ptr.Deref(workload.Spec.Replicas, 1)
	}
	b, err := newBudget(ro, replicas)
	if err != nil {
		return 0, &specError{reason: "InvalidSpec", message: err.Error()}
	}
	if isMesh(ro) {
		// The stable revision keeps all its pods while a mesh carries the
		// canary's weight: the canary's pods come on top, up to a full set.
		b.maxSurge = b.replicas
	}
	revs, err := r.listRevisions(ctx, ro)
	if err != nil {
		return 0, err
	}
	if inPlace == nil && sts == nil && adopting(revs) && findRevision(revs, rampv1.TemplateHash(tmpl, ro.Status.CollisionCount)) == nil {
		adopted, err := r.adoptOrphans(ctx, ro, n, tmpl, revs)
		if err != nil || adopted {
			return endpointPropagation(ro) + time.Second, err
		}
	}
	if wait := adoptionHold(ro, revs, r.Clock.Now()); wait > 0 {
		return wait, nil // pods taken over: see adopt.go
	}
	var stable, current *revision
	var handOver time.Duration
	var set *statefulSet
	if sts != nil {
		if stable, current, set, err = r.statefulSetRevisions(ctx, ro, n, sts); err != nil {
			return 0, err
		}
	}
	if inPlace != nil {
		if stable, handOver, err = r.workloadRevision(ctx, ro, n, inPlace, revs); err != nil {
			return 0, err
		}
		if rampv1.TemplateHash(tmpl, ro.Status.CollisionCount) == stable.hash {
			current = stable
		}
	}
	if current == nil {
		if current, revs, err = r.ensureRevision(ctx, ro, n, tmpl, revs); err != nil {
			return 0, err
		}
	}
	st := &rolloutState{ro: ro, news: n, now: r.Clock.Now(), wall: time.Now(), router: r.routerFor(ro), mesh: isMesh(ro), budget: b,
		revs: revs, stable: stable, current: current, workload: workload, inPlace: inPlace, statefulSet: set}

	if handOver > 0 {
		st.requeueAfter(handOver)
	}
	r.trackRevisions(st)
	if err := r.holdWorkload(ctx, st); err != nil {
		return 0, err
	}
	if err := r.observeRouting(ctx, st); err != nil {
		return 0, err
	}
	r.trackDrain(st)
	if err := r.renumber(ctx, st); err != nil {
		return 0, err
	}
	r.noteProgress(st)
	if st.mode == modeAborted {
		// Here too, not only in the pass that rolled back: that pass may
		// have failed after recording the rollback, and a retry handled
		// now would leave this canary's rollback without its hooks.
		if err := r.startHooks(ctx, st, rampv1.AfterRollback); err != nil {
			return 0, err
		}
	}
	r.handleRequests(st)
	// A canary that cannot run stays at weight 0 with no pod, its steps
	// unstarted; the rest of the pass goes on (a replaced canary still
	// retires, the stable revision comes back to full scale).
	held, err := r.preflight(ctx, st)
	if err != nil {
		return 0, err
	}
	if held == nil {
		if err := r.runSteps(ctx, st); err != nil {
			return 0, err
		}
	}
	// Weights move before pods go: a rollback's first write is the
	// canary's weight to 0.
	if err := r.keepRouting(ctx, st); err != nil {
		return 0, err
	}
	r.planTargets(st)
	if err := r.scale(ctx, st); err != nil {
		return 0, err
	}
	if err := r.pace(ctx, st); err != nil {
		return 0, err
	}
	if st.mode == modeStable {
		if err := r.scaleDownWorkload(ctx, st); err != nil {
			return 0, err
		}
	}
	if err := r.pruneHistory(ctx, st); err != nil {
		return 0, err
	}
	if st.mode == modeAborted {
		// After the rollback's writes, so as not to delay them.
		if err := r.startHooks(ctx, st, rampv1.AfterRollback); err != nil {
			return 0, err
		}
	}
	if err := r.settleRuns(ctx, st); err != nil {
		return 0, err
	}
	if err := r.summarize(ctx, st); err != nil {
		return 0, err
	}
	if held != nil {
		return st.requeue, held
	}
	return st.requeue, nil
}

// noteProgress moves the progress clock when more canary pods are
// available than the last pass recorded.
func (r *Reconciler) noteProgress(st *rolloutState) {
	s := &st.ro.Status
	if st.canary != nil && s.ProgressAt != nil && st.canary.available() > s.UpdatedAvailableReplicas {
		s.ProgressAt = &metav1.MicroTime{Time: st.now}
	}
}

// specFault reports a fault in the spec on the Rollout and keeps whatever
// runs running.
func (r *Reconciler) specFault(ro *rampv1.Rollout, err *specError, n *news) {
	ro.Status.ObservedGeneration = ro.Generation
	for _, typ := range []string{rampv1.ConditionReady, rampv1.ConditionProgressing} {
		meta.SetStatusCondition(&ro.Status.Conditions, metav1.Condition{
			Type: typ, Status: metav1.ConditionFalse, Reason: err.reason, Message: err.message, ObservedGeneration: ro.Generation,
		})
	}
	for _, typ := range []string{rampv1.ConditionDegraded, rampv1.ConditionStalled} {
		meta.SetStatusCondition(&ro.Status.Conditions, metav1.Condition{
			Type: typ, Status: metav1.ConditionTrue, Reason: err.reason, Message: err.message, ObservedGeneration: ro.Generation,
		})
	}
	meta.SetStatusCondition(&ro.Status.Conditions, metav1.Condition{
		Type: rampv1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: err.reason,
		Message: "waiting for the fix: " + err.message, ObservedGeneration: ro.Generation,
	})
	if ro.Status.Phase != rampv1.PhaseDegraded || ro.Status.Message != err.message {
		n.decided(corev1.EventTypeWarning, err.reason, "Validate", "%s", err.message)
	}
	ro.Status.Phase, ro.Status.Message = rampv1.PhaseDegraded, err.message
}

// patchStatus writes the status when the pass changed it, and only then.
// The optimistic lock refuses the write if the Rollout changed since it
// was read, so a stale cache can never move a canary twice.
func (r *Reconciler) patchStatus(ctx context.Context, orig, ro *rampv1.Rollout) error {
	if equality.Semantic.DeepEqual(orig.Status, ro.Status) {
		return nil
	}
	return r.Status().Patch(ctx, ro, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}

// event records a transition as a Kubernetes event and a structured log line.
// The related object, if any, is the one a write was made to.
func (r *Reconciler) event(ro *rampv1.Rollout, related runtime.Object, annotations map[string]string, typ, reason, action, note string) {
	r.Recorder.AnnotatedEventf(ro, related, annotations, typ, reason, action, "%s", note)
	ctrl.Log.WithName("rollout").Info(note, "rollout", klog.KObj(ro), "reason", reason, "type", typ)
}

// SetupWithManager registers the reconciler and the indexes it uses.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Shards != nil {
		r.Shards.OnLose(func(i int) { forgetShard(i, r.Shards.Shards()) })
	}
	err := mgr.GetFieldIndexer().IndexField(ctx, &appsv1.ReplicaSet{}, ownerIndex, func(o client.Object) []string {
		if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == "Rollout" && ref.APIVersion == rampv1.GroupVersion.String() {
			return []string{ref.Name}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = mgr.GetFieldIndexer().IndexField(ctx, &rampv1.Rollout{}, workloadIndex, func(o client.Object) []string {
		if ref := o.(*rampv1.Rollout).Spec.WorkloadRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err = mgr.GetFieldIndexer().IndexField(ctx, &rampv1.Rollout{}, templateIndex, templatesOf); err != nil {
		return err
	}
	err = mgr.GetFieldIndexer().IndexField(ctx, &rampv1.Rollout{}, routingIndex, func(o client.Object) []string {
		return routingObjects(o.(*rampv1.Rollout))
	})
	if err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&rampv1.Rollout{}).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&corev1.Service{}).
		Owns(&rampv1.AnalysisRun{}).
		Owns(&rampv1.HookRun{}).
		// Its status's counts too: a Deployment run in place hands a
		// promotion over once it has rolled it out.
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsOfWorkload),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, podCountsChanged))).
		Watches(&appsv1.StatefulSet{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsOfWorkload),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, podCountsChanged))).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsRoutedBy("Service"))).
		Watches(&rampv1.AnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsNaming("AnalysisTemplate")),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&rampv1.ClusterAnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsNaming("ClusterAnalysisTemplate")),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	// Routing objects are watched (to put back hand edits at once) when
	// the cluster serves their API; installing a mesh later needs a
	// controller restart for that, not for the routing itself.
	for _, gvk := range servedRoutingKinds(mgr.GetRESTMapper()) {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.rolloutsRoutedBy(gvk.Kind)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}))
	}
	return r.Shards.Complete(b, r, mgr.GetCache(), func() client.ObjectList { return &rampv1.RolloutList{} }, shard.ByName)
}

// servedRoutingKinds lists the routing kinds the cluster serves, each at
// the newest version its router reads.
func servedRoutingKinds(mapper meta.RESTMapper) []schema.GroupVersionKind {
	var kinds []schema.GroupVersionKind
	for _, d := range routers.All {
		for _, k := range d.Kinds {
			if v, ok, err := traffic.ServedVersion(mapper, k.GroupKind, k.Versions); err == nil && ok {
				kinds = append(kinds, k.WithVersion(v))
			}
		}
	}
	return kinds
}
