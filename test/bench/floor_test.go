package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// BenchmarkRollbackFloor times the least any controller must do for a
// rollback, measured as BenchmarkRollback measures Ramp: from the abort
// annotation written to the canary's weight 0 seen by a watch. The floor
// is a minimal client-go program (startFloor): one watch of the Rollouts,
// and at a new abort request one merge patch, prepared in advance, of
// the weight Ramp wrote for its own rollback; no cache, no status, no
// event. Ramp sets the canary up and takes the first abort; then it is
// stopped, and the floor answers every abort, the canary's weight put
// back between them.
func BenchmarkRollbackFloor(b *testing.B) {
	n := count("RAMP_BENCH_ROLLBACKS", 50)
	for _, router := range fixture.Routers {
		b.Run(slug(router), func(b *testing.B) {
			e := fixture.New(b)
			ctrl := startController(b, e)
			rec := canaryAt30(b, e, router, "floor")
			pausedAt(b, e, "floor", 1)
			object := routingObject(e, router, "floor")
			canary := specPatch(b, router, e.GetObject(router.GVK(), object))
			weightSeen(b, rec, router, object, e.Request("floor", rampv1.AnnotationAbort), 0, replicas)
			zero := specPatch(b, router, e.GetObject(router.GVK(), object))
			ctrl.Kill()

			dyn := startFloor(b, e, router.GVK(), object, zero)
			res := resource(b, e, router.GVK())
			var ds []time.Duration
			for range n {
				// The canary's weight back, as a retry would put it.
				u, err := dyn.Resource(res).Namespace(e.NS).Patch(context.Background(), object, types.MergePatchType, canary, metav1.PatchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				back := revision(b, u)
				weightSeen(b, rec, router, object, back-1, 30, replicas)
				if router == fixture.PodRatio {
					// As BenchmarkRollback's retry does: the abort comes
					// once the canary's pods are up, on a quiet cluster.
					clustertest.Eventually(b, fixture.Wait, "the canary's pods ready", func(context.Context) (bool, string) {
						ready, _, _ := unstructured.NestedInt64(e.GetObject(router.GVK(), object).Object, "status", "readyReplicas")
						return ready == 3, fmt.Sprintf("%d ready", ready)
					})
				}
				start := time.Now()
				rv := e.Request("floor", rampv1.AnnotationAbort)
				ds = append(ds, weightSeen(b, rec, router, object, rv, 0, replicas).Sub(start))
			}
			l := Summarise(ds)
			b.ReportMetric(l.P50Ms, "p50-ms")
			record(b, clustertest.Config(b), func(r *Report) {
				if r.RollbackFloor == nil {
					r.RollbackFloor = map[string]Latency{}
				}
				r.RollbackFloor[string(router)] = l
			})
		})
	}
}

// startFloor runs the floor controller until the benchmark ends: a watch
// of the namespace's Rollouts and, at each new abort request, patch
// written to the routing object. It has its own connections, and Ramp's
// client rate limits.
func startFloor(b *testing.B, e *fixture.Env, gvk schema.GroupVersionKind, object string, patch []byte) *dynamic.DynamicClient {
	b.Helper()
	cfg := rest.CopyConfig(clustertest.Config(b))
	cfg.QPS, cfg.Burst, cfg.UserAgent = 100, 200, "floor"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	target := resource(b, e, gvk)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	w, err := dyn.Resource(rampv1.GroupVersion.WithResource("rollouts")).Namespace(e.NS).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		defer w.Stop()
		last := ""
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			asked := u.GetAnnotations()[rampv1.AnnotationAbort]
			if ev.Type == watch.Added || asked == "" || asked == last {
				last = asked // the requests before the floor started are Ramp's
				continue
			}
			last = asked
			_, _ = dyn.Resource(target).Namespace(e.NS).Patch(ctx, object, types.MergePatchType, patch, metav1.PatchOptions{})
		}
	}()
	return dyn
}

// specPatch is a merge patch that gives the routing object u's weights
// again: its whole spec (a merge patch replaces lists whole), or for pod
// ratio the canary ReplicaSet's replicas.
func specPatch(b *testing.B, router fixture.Router, u *unstructured.Unstructured) []byte {
	b.Helper()
	spec := u.Object["spec"]
	if router == fixture.PodRatio {
		spec = map[string]any{"replicas": u.Object["spec"].(map[string]any)["replicas"]}
	}
	data, err := json.Marshal(map[string]any{"spec": spec})
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func resource(b *testing.B, e *fixture.Env, gvk schema.GroupVersionKind) schema.GroupVersionResource {
	b.Helper()
	m, err := e.C.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		b.Fatal(err)
	}
	return m.Resource
}

func revision(b *testing.B, u *unstructured.Unstructured) int64 {
	b.Helper()
	rv, err := strconv.ParseInt(u.GetResourceVersion(), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return rv
}
