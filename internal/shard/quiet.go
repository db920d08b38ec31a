package shard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/utils/ptr"
)

// Quiet tells a replica elected leader (no shards) whether any shard is
// still held by a replica run with --shards: during a switch from shards
// to leader election, both run for a while, and the leader must not write
// until the shards are released or have lapsed. (Shards, for their part,
// take nothing while a leader's Lease is live.)
type Quiet struct {
	leases    coordinationv1client.LeasesGetter
	namespace string
	period    time.Duration
	log       logr.Logger

	mu       sync.Mutex
	read     bool
	held     []string
	observed observer // the loop's own
}

// NewQuiet watches the shard Leases in namespace every period; Start runs it.
func NewQuiet(leases coordinationv1client.LeasesGetter, namespace string, period time.Duration, log logr.Logger) *Quiet {
	return &Quiet{leases: leases, namespace: namespace, period: period, log: log, observed: observer{}}
}

// NeedLeaderElection is false: a replica waiting to lead watches too.
func (q *Quiet) NeedLeaderElection() bool { return false }

// Start reads the shard Leases until ctx is done.
func (q *Quiet) Start(ctx context.Context) error {
	t := time.NewTicker(q.period)
	defer t.Stop()
	for {
		q.look(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (q *Quiet) look(ctx context.Context) {
	list, err := q.leases.Leases(q.namespace).List(ctx, metav1.ListOptions{LabelSelector: labelLease + "=" + kindShard})
	if err != nil {
		q.log.Error(err, "list shard Leases")
		return
	}
	now := time.Now()
	var held []string
	for i := range list.Items {
		l := &list.Items[i]
		q.observed.see(l, now)
		if !q.observed.expired(l, now) {
			held = append(held, l.Name+" by "+ptr.Deref(l.Spec.HolderIdentity, ""))
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(held) > 0 && len(q.held) == 0 {
		q.log.Info("shards are held by replicas run with --shards; not writing until they are released or lapse", "held", held)
	}
	q.read, q.held = true, held
}

// Check says whether the leader may write: no shard is held.
func (q *Quiet) Check() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case !q.read:
		return fmt.Errorf("not writing: the shard Leases have not been read yet")
	case len(q.held) > 0:
		return fmt.Errorf("not writing: shards are still held by replicas run with --shards (%v); waiting until they are released or lapse", q.held)
	}
	return nil
}
