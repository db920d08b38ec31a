package shard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestOfSpreadsEvenly(t *testing.T) {
	for _, n := range []int{2, 3, 5, 8} {
		count := make([]int, n)
		const keys = 6000
		for k := range keys {
			count[Of(fmt.Sprintf("shop/web-%d", k), n)]++
		}
		for i, c := range count {
			// Within 10% of an even share.
			if even := keys / n; c < even*9/10 || c > even*11/10 {
				t.Errorf("%d shards: shard %d has %d of %d keys", n, i, c, keys)
			}
		}
	}
}

func TestKeyOf(t *testing.T) {
	labelled := metav1.ObjectMeta{Namespace: "shop", Name: "web-abc-1-step-2", Labels: map[string]string{rampv1.LabelRollout: "web"}}
	for _, c := range []struct {
		name string
		obj  runtime.Object
		want string
	}{
		{"a Rollout, by its name", &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: map[string]string{rampv1.LabelRollout: "other"}}}, "shop/web"},
		{"an AnalysisRun, by its Rollout", &rampv1.AnalysisRun{ObjectMeta: labelled}, "shop/web"},
		{"a HookRun, by its Rollout", &rampv1.HookRun{ObjectMeta: labelled}, "shop/web"},
		{"a run of no Rollout, by its name", &rampv1.HookRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "smoke"}}, "shop/smoke"},
	} {
		if got := KeyOf(c.obj); got != c.want {
			t.Errorf("%s: KeyOf = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestGate: requests of a shard this replica holds, freshly renewed and
// not being let go, are reconciled, with the shard in their context for
// the write fence; the others are dropped, and their writes refused.
func TestGate(t *testing.T) {
	const n = 4
	opts := Options{Shards: n, Namespace: "ramp-system", Identity: "a", Prefix: "ramp", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "web"}}
	i := Of("shop/web", n)
	for _, c := range []struct {
		name  string
		state shardState
		runs  bool
	}{
		{"held, renewed now", shardState{held: true, renewed: time.Now()}, true},
		{"not held", shardState{}, false},
		{"held, renewed past the deadline", shardState{held: true, renewed: time.Now().Add(-11 * time.Second)}, false},
		{"being let go", shardState{held: true, renewed: time.Now(), leaving: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(nil, opts, logr.Discard())
			if err != nil {
				t.Fatal(err)
			}
			s.shards[i] = c.state
			ran, wrote := false, error(nil)
			gated := s.Gate(reconcile.Func(func(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
				ran, wrote = true, s.Check(ctx)
				if !s.busy(i) {
					t.Error("a reconcile under way is not counted")
				}
				return reconcile.Result{}, nil
			}), ByName)
			if _, err := gated.Reconcile(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if ran != c.runs || wrote != nil {
				t.Errorf("reconciled %v (want %v); its write allowed: %v", ran, c.runs, wrote)
			}
			if s.busy(i) {
				t.Error("a reconcile that ended is still counted")
			}
			if err := s.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "no shard") {
				t.Errorf("a write outside any reconcile: %v", err)
			}
			if err := s.CheckObject(&rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}); (err == nil) != c.runs && !c.state.leaving {
				t.Errorf("an Event about the Rollout: %v", err)
			}
		})
	}
	var none *Set
	ran := false
	inner := reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
		ran = true
		return reconcile.Result{}, nil
	})
	if _, err := none.Gate(inner, ByName).Reconcile(context.Background(), req); err != nil || !ran {
		t.Errorf("without shards a request is not reconciled (%v)", err)
	}
}
