// Package shard spreads the Rollouts over the controller's replicas, all
// of them active, for clusters past what one controller holds.
//
// Every Rollout belongs to one of N shards, by a fixed hash of its
// namespace and name; the AnalysisRuns and HookRuns a Rollout starts
// belong to its shard too (by their ramp.dev/rollout label), so one
// replica carries a Rollout and all it runs. Each shard is a Lease, held
// by one replica at a time with the same timing and fencing as leader
// election: a replica reconciles, and writes for, only the shards whose
// Lease it renewed within the renew deadline. Each replica also keeps a
// Lease of its own, so that all of them know how many replicas share the
// work; each takes shards up to its fair share, ceil(N / replicas), and
// lets go of those over it. A replica that stops renewing loses its shards
// a Lease duration later, to the others.
//
// Why Leases rather than a shard label on each object (as Flux shards):
// a label must be set on every Rollout by someone, and a replica per label
// value must run; when one dies its Rollouts wait until it is back. With
// Leases nothing is asked of the user, and a lost replica's share moves on
// its own within a Lease duration and a retry period (under 20 s).
package shard

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Options configure a Set.
type Options struct {
	// Shards is the number of shards; every replica must run with the same.
	Shards int
	// Namespace holds the Leases.
	Namespace string
	// Identity names this replica in the Leases.
	Identity string
	// Prefix begins the Leases' names: <prefix>-shard-<i>, <prefix>-replica-<id>.
	Prefix string
	// Lease timing, as leader election's.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// A Set is this replica's view of the shards: which it holds, and the
// loop that acquires, renews and releases their Leases.
type Set struct {
	opts   Options
	leases coordinationv1client.LeasesGetter
	log    logr.Logger

	mu     sync.Mutex
	shards []shardState
	subs   []*subscriber
	lost   []func(shard int)
	// observed is the Lease loop's own (no lock).
	observed observer
}

type shardState struct {
	held     bool
	renewed  time.Time // when the last renewal that succeeded was sent
	leaving  bool      // being released: no new reconcile starts
	inflight int       // reconciles under way
	// tenure is done when the shard is lost: the reconciles under way
	// stop (their calls out too), not only their writes.
	tenure context.Context
	end    context.CancelFunc
}

// New returns the Set of a replica; Start runs its Lease loop.
func New(leases coordinationv1client.LeasesGetter, opts Options, log logr.Logger) (*Set, error) {
	if opts.Shards < 1 {
		return nil, fmt.Errorf("shards must be at least 1, not %d", opts.Shards)
	}
	if opts.Namespace == "" || opts.Identity == "" || opts.Prefix == "" {
		return nil, fmt.Errorf("shards need a namespace, an identity and a Lease prefix")
	}
	if opts.RenewDeadline >= opts.LeaseDuration {
		return nil, fmt.Errorf("the renew deadline (%s) must be shorter than the Lease duration (%s)", opts.RenewDeadline, opts.LeaseDuration)
	}
	replica.WithLabelValues(opts.Identity).Set(1)
	return &Set{opts: opts, leases: leases, log: log, shards: make([]shardState, opts.Shards), observed: observer{}}, nil
}

// Of returns the shard of a key ("namespace/name") among n.
func Of(key string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// KeyOf returns the key an object is sharded by: a run's Rollout (its
// ramp.dev/rollout label), anything else its own namespace and name.
func KeyOf(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	switch obj.(type) {
	case *rampv1.AnalysisRun, *rampv1.HookRun:
		if ro := m.GetLabels()[rampv1.LabelRollout]; ro != "" {
			return m.GetNamespace() + "/" + ro
		}
	}
	return m.GetNamespace() + "/" + m.GetName()
}

// OnLose has f called with each shard this replica loses or lets go (from
// the Lease loop: f must not block).
func (s *Set) OnLose(f func(shard int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = append(s.lost, f)
}

// Shards is the number of shards.
func (s *Set) Shards() int { return s.opts.Shards }

// Held lists the shards this replica holds now.
func (s *Set) Held() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var held []int
	for i := range s.shards {
		if s.shards[i].held {
			held = append(held, i)
		}
	}
	return held
}

// admission is what the Gate does with a request.
type admission int

const (
	admit admission = iota // this replica reconciles it
	drop                   // another replica holds the shard, or will
	later                  // held, but the renewal is late: ask again
)

// enter admits one reconcile in shard i, if this replica holds it, its
// renewal is fresh and it is not being released; it returns the tenure
// the reconcile runs within.
func (s *Set) enter(i int) (admission, context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := &s.shards[i]
	switch {
	case !sh.held || sh.leaving:
		return drop, nil
	case time.Since(sh.renewed) > s.opts.RenewDeadline:
		// If the renewal comes through, the shard stays, and nothing
		// would enqueue this request again; if not, another replica
		// takes the shard and enqueues it there.
		return later, nil
	}
	sh.inflight++
	return admit, sh.tenure
}

// exit ends a reconcile enter admitted.
func (s *Set) exit(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shards[i].inflight--
}

// busy says whether reconciles of shard i are under way.
func (s *Set) busy(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shards[i].inflight > 0
}

// fresh reports whether this replica may write for shard i: it holds the
// Lease and renewed it within the renew deadline, so no other replica can
// have taken it (a Lease duration must pass, as others see it, first).
func (s *Set) fresh(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := &s.shards[i]
	if !sh.held {
		return fmt.Errorf("not writing: replica %s does not hold shard %d", s.opts.Identity, i)
	}
	// time.Since reads the monotonic clock, which runs on while the
	// process is stopped: a thawed replica sees the whole gap.
	if age := time.Since(sh.renewed); age > s.opts.RenewDeadline {
		return fmt.Errorf("not writing: replica %s last renewed shard %d %s ago (limit %s); another replica may hold it now",
			s.opts.Identity, i, age.Round(time.Second), s.opts.RenewDeadline)
	}
	return nil
}

type shardKey struct{}

// Check says whether this replica may write now, in the reconcile ctx
// belongs to (a Gate put its shard there). A write outside any shard's
// reconcile is refused: with shards, every write belongs to one.
func (s *Set) Check(ctx context.Context) error {
	i, ok := ctx.Value(shardKey{}).(int)
	if !ok {
		return fmt.Errorf("not writing: the write belongs to no shard's reconcile")
	}
	return s.fresh(i)
}

// CheckObject says whether this replica may record an Event about obj.
func (s *Set) CheckObject(obj runtime.Object) error {
	return s.fresh(Of(KeyOf(obj), s.opts.Shards))
}
