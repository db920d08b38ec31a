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
	"k8s.io/client-go/kubernetes/fake"
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
// the write fence; those of a shard held but renewed late are asked
// again later; the others are dropped, and their writes refused.
func TestGate(t *testing.T) {
	const n = 4
	opts := Options{Shards: n, Namespace: "ramp-system", Identity: "a", Prefix: "ramp", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "web"}}
	i := Of("shop/web", n)
	held := func(renewed time.Time, leaving bool) shardState {
		tenure, end := context.WithCancel(context.Background())
		return shardState{held: true, renewed: renewed, leaving: leaving, tenure: tenure, end: end}
	}
	for _, c := range []struct {
		name  string
		state shardState
		runs  bool
		again time.Duration
	}{
		{"held, renewed now", held(time.Now(), false), true, 0},
		{"not held", shardState{}, false, 0},
		{"held, renewed past the deadline", held(time.Now().Add(-11*time.Second), false), false, 2 * time.Second},
		{"being let go", held(time.Now(), true), false, 0},
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
			res, err := gated.Reconcile(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if ran != c.runs || wrote != nil || res.RequeueAfter != c.again {
				t.Errorf("reconciled %v (want %v), asked again after %s (want %s); its write allowed: %v", ran, c.runs, res.RequeueAfter, c.again, wrote)
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

// TestLosingAShardStopsItsReconciles: a reconcile under way when its shard
// is lost sees its context cancelled (its calls out stop too, not only its
// writes); the shard taken back keeps the count of reconciles still
// ending, so that it cannot be released under them; and whoever asked is
// told of the loss.
func TestLosingAShardStopsItsReconciles(t *testing.T) {
	opts := Options{Shards: 1, Namespace: "ramp-system", Identity: "a", Prefix: "ramp", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
	s, err := New(fake.NewClientset().CoordinationV1(), opts, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if !s.acquire(context.Background(), 0, nil) {
		t.Fatal("the shard's Lease was not taken")
	}
	var told []int
	s.OnLose(func(i int) { told = append(told, i) })
	started, cancelled, finish := make(chan struct{}), make(chan error, 1), make(chan struct{})
	gated := s.Gate(reconcile.Func(func(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
		close(started)
		<-ctx.Done()
		cancelled <- ctx.Err()
		<-finish // still ending, as a write on the wire would be
		return reconcile.Result{}, nil
	}), ByName)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = gated.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "web"}})
	}()
	<-started
	s.lose(0, "test")
	select {
	case err := <-cancelled:
		if err == nil {
			t.Error("the reconcile's context ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reconcile under way was not cancelled when its shard was lost")
	}
	if fmt.Sprint(told) != "[0]" {
		t.Errorf("told of lost shards %v, want [0]", told)
	}
	// Taken back while that reconcile ends: it still counts.
	l, err := s.leases.Leases("ramp-system").Get(context.Background(), s.shardLease(0), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.acquire(context.Background(), 0, l) {
		t.Fatal("the shard's Lease was not taken back")
	}
	if !s.busy(0) {
		t.Error("taken back, the shard forgot the reconcile still ending: it could be released under it")
	}
	close(finish)
	<-done
	if s.busy(0) {
		t.Error("the reconcile ended and still counts")
	}
}
