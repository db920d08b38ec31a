package shard

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// A KeyFunc gives the key a request is sharded by.
type KeyFunc func(ctx context.Context, req reconcile.Request) string

// ByName shards a request by its own namespace and name (Rollouts).
func ByName(_ context.Context, req reconcile.Request) string {
	return req.Namespace + "/" + req.Name
}

// ByRollout shards a run's request by its Rollout, read from reader (the
// cache); a run that is gone is sharded by its own name.
func ByRollout(reader client.Reader, newObj func() client.Object) KeyFunc {
	return func(ctx context.Context, req reconcile.Request) string {
		obj := newObj()
		if err := reader.Get(ctx, req.NamespacedName, obj); err != nil {
			return ByName(ctx, req)
		}
		return KeyOf(obj)
	}
}

// Gate returns r reconciling only the requests of the shards this replica
// holds; the others are dropped (their holder has them in its own queue).
// A nil Set gates nothing.
func (s *Set) Gate(r reconcile.Reconciler, key KeyFunc) reconcile.Reconciler {
	if s == nil {
		return r
	}
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		i := Of(key(ctx, req), s.opts.Shards)
		switch a, tenure := s.enter(i); a {
		case drop:
			return reconcile.Result{}, nil
		case later:
			return reconcile.Result{RequeueAfter: s.opts.RetryPeriod}, nil
		default:
			defer s.exit(i)
			ctx, cancel := context.WithCancel(context.WithValue(ctx, shardKey{}, i))
			defer cancel()
			defer context.AfterFunc(tenure, cancel)()
			return r.Reconcile(ctx, req)
		}
	})
}

// Complete finishes a controller's builder with r: gated by s, and with
// s's Source of gained shards; a nil Set completes it with r as it is.
// newList makes an empty list of the kind reconciled, key shards a request.
func (s *Set) Complete(b *builder.Builder, r reconcile.Reconciler, reader client.Reader, newList func() client.ObjectList, key KeyFunc) error {
	if s == nil {
		return b.Complete(r)
	}
	return b.WatchesRawSource(s.Source(reader, newList, KeyOf)).Complete(s.Gate(r, key))
}

// Source enqueues every object of a shard when this replica gains it
// (requests dropped by the Gate while another replica held it are not
// lost: they are asked again). list makes an empty list of the kind
// reconciled; key gives an object's key, as the Gate's KeyFunc does.
func (s *Set) Source(reader client.Reader, list func() client.ObjectList, key func(runtime.Object) string) source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		sub := s.subscribe()
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-sub.signal:
				}
				for _, i := range sub.take() {
					s.enqueueShard(ctx, q, reader, list, key, i)
				}
			}
		}()
		return nil
	})
}

func (s *Set) enqueueShard(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], reader client.Reader, list func() client.ObjectList, key func(runtime.Object) string, i int) {
	for ctx.Err() == nil {
		l := list()
		// The cache's own copies, read and not kept: a shard may hold
		// thousands of objects.
		err := reader.List(ctx, l, client.UnsafeDisableDeepCopy)
		if err == nil {
			_ = meta.EachListItem(l, func(o runtime.Object) error {
				if Of(key(o), s.opts.Shards) == i {
					if obj, ok := o.(client.Object); ok {
						q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
					}
				}
				return nil
			})
			return
		}
		s.log.Error(err, "list the objects of a gained shard; retrying", "shard", i)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// A subscriber hears of the shards this replica gains, without ever
// blocking the Lease loop: gains pile up in pending until taken.
type subscriber struct {
	signal  chan struct{}
	mu      sync.Mutex
	pending map[int]bool
}

func (s *Set) subscribe() *subscriber {
	sub := &subscriber{signal: make(chan struct{}, 1), pending: map[int]bool{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, sub)
	// Shards gained before the controller started its sources.
	for i := range s.shards {
		if s.shards[i].held {
			sub.add(i)
		}
	}
	return sub
}

func (sub *subscriber) add(i int) {
	sub.mu.Lock()
	sub.pending[i] = true
	sub.mu.Unlock()
	select {
	case sub.signal <- struct{}{}:
	default:
	}
}

func (sub *subscriber) take() []int {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	var out []int
	for i := range sub.pending {
		out = append(out, i)
	}
	clear(sub.pending)
	return out
}
