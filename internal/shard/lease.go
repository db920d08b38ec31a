package shard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Labels on the Leases: which kind each is, and the shard count of the
// replica that wrote it, so that replicas started with another count
// (during a change of it) are seen and waited out.
const (
	labelLease  = "ramp.dev/lease"
	labelShards = "ramp.dev/shards"
	kindShard   = "shard"
	kindReplica = "replica"
)

// NeedLeaderElection is false: every replica runs its Set.
func (s *Set) NeedLeaderElection() bool { return false }

// Start runs the Lease loop until ctx is done, then lets go of every
// shard (after its reconciles end) and of the replica's own Lease, so the
// others take over at once rather than a Lease duration later.
func (s *Set) Start(ctx context.Context) error {
	t := time.NewTicker(s.opts.RetryPeriod)
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			s.shutdown()
			return nil
		case <-t.C:
		}
	}
}

func (s *Set) shardLease(i int) string { return fmt.Sprintf("%s-shard-%d", s.opts.Prefix, i) }

func (s *Set) replicaLease() string {
	sum := sha256.Sum256([]byte(s.opts.Identity))
	return s.opts.Prefix + "-replica-" + hex.EncodeToString(sum[:5])
}

// tick is one round: read every Lease, renew this replica's shards and
// its own Lease, then release shards over its fair share or take free
// ones up to it. Replicas of another mode or shard count hold it back.
func (s *Set) tick(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RenewDeadline)
	defer cancel()
	defer func() { shardsHeld.Set(float64(len(s.Held()))) }()
	list, err := s.leases.Leases(s.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelLease})
	if err != nil {
		s.log.Error(err, "list shard Leases")
		s.dropStale()
		return
	}
	now := time.Now()
	byName := map[string]*coordinationv1.Lease{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
		s.observed.see(&list.Items[i], now)
	}

	// The shards first: their renewal is what the write fence counts on.
	s.dropStale()
	for _, i := range s.Held() {
		name := s.shardLease(i)
		byName[name] = s.renewShard(ctx, i, byName[name])
	}
	visible := s.renewReplica(ctx, byName[s.replicaLease()])
	replicas, foreign := 1, s.foreign(ctx, list.Items, now)
	for _, l := range list.Items {
		if l.Labels[labelLease] != kindReplica || l.Name == s.replicaLease() {
			continue
		}
		if s.observed.lapsedFor(&l, now) > 10*s.opts.LeaseDuration {
			// A replica gone for good: its Lease is of no more use.
			_ = s.leases.Leases(s.opts.Namespace).Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &l.ResourceVersion}})
		}
		if !s.observed.expired(&l, now) && l.Labels[labelShards] == strconv.Itoa(s.opts.Shards) {
			replicas++
		}
	}

	active, leaving := s.holding()
	if len(foreign) > 0 {
		// Another mode or shard count would reconcile the same Rollouts
		// under other Leases: take nothing new until it is gone. A
		// leader yields nothing to shards, so shards yield to it.
		s.log.Info("other controllers run in another mode or with another shard count; taking no more shards until they are gone", "shards", s.opts.Shards, "others", foreign)
		if s.leaderLive(ctx, now) {
			for _, i := range active {
				s.leave(i, "a leader-elected replica is running")
			}
			leaving = append(leaving, active...)
		}
		for _, i := range leaving {
			s.release(ctx, i, byName[s.shardLease(i)])
		}
		return
	}
	share := (s.opts.Shards + replicas - 1) / replicas
	for len(active) > share {
		last := active[len(active)-1]
		s.leave(last, "evening out the replicas' shares")
		leaving = append(leaving, last)
		active = active[:len(active)-1]
	}
	for _, i := range leaving {
		s.release(ctx, i, byName[s.shardLease(i)])
	}
	if !visible {
		return // the others cannot count this replica: it takes nothing
	}
	for i := 0; i < s.opts.Shards && len(active) < share; i++ {
		if slices.Contains(active, i) || slices.Contains(leaving, i) {
			continue
		}
		if l := byName[s.shardLease(i)]; l != nil && !s.free(l, now) {
			continue
		}
		if s.acquire(ctx, i, byName[s.shardLease(i)]) {
			active = append(active, i)
		}
	}
}

// foreign lists what runs in another mode or with another shard count: a
// live leader-election Lease, live replica Leases and held shard Leases
// labelled with another count.
func (s *Set) foreign(ctx context.Context, leases []coordinationv1.Lease, now time.Time) []string {
	var others []string
	if s.leaderLive(ctx, now) {
		others = append(others, "a leader-elected replica")
	}
	for _, l := range leases {
		count := l.Labels[labelShards]
		if count == strconv.Itoa(s.opts.Shards) || s.observed.expired(&l, now) || ptr.Deref(l.Spec.HolderIdentity, "") == "" {
			continue
		}
		others = append(others, fmt.Sprintf("%s of %s (%s shards)", l.Labels[labelLease], ptr.Deref(l.Spec.HolderIdentity, ""), count))
	}
	return others
}

// leaderLive says whether the leader-election Lease (named as the prefix)
// is held and renewed, as last read.
func (s *Set) leaderLive(ctx context.Context, now time.Time) bool {
	l, err := s.leases.Leases(s.opts.Namespace).Get(ctx, s.opts.Prefix, metav1.GetOptions{})
	if err != nil {
		return false
	}
	s.observed.see(l, now)
	return ptr.Deref(l.Spec.HolderIdentity, "") != "" && !s.observed.expired(l, now)
}

// holding lists the shards held: those reconciled, and those being let go.
func (s *Set) holding() (active, leaving []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.shards {
		switch sh := &s.shards[i]; {
		case sh.held && sh.leaving:
			leaving = append(leaving, i)
		case sh.held:
			active = append(active, i)
		}
	}
	return active, leaving
}

// leave starts letting go of shard i: no new reconcile of it starts.
func (s *Set) leave(i int, why string) {
	s.mu.Lock()
	s.shards[i].leaving = true
	s.mu.Unlock()
	s.log.Info("letting go of a shard: "+why, "shard", i)
}

// free says whether this replica may take shard Lease l: nobody holds it,
// its holder let it lapse, or it is this replica's own record.
func (s *Set) free(l *coordinationv1.Lease, now time.Time) bool {
	holder := ptr.Deref(l.Spec.HolderIdentity, "")
	return holder == "" || holder == s.opts.Identity || s.observed.expired(l, now)
}

// dropStale gives up the shards whose renewal is older than the renew
// deadline: their writes are already refused, and taking them again
// (below, if nobody else has) enqueues their Rollouts anew.
func (s *Set) dropStale() {
	for _, i := range s.Held() {
		s.mu.Lock()
		stale := time.Since(s.shards[i].renewed) > s.opts.RenewDeadline
		s.mu.Unlock()
		if stale {
			s.lose(i, "its Lease was not renewed in time")
		}
	}
}

// renewReplica renews (or creates) this replica's own Lease, and says
// whether that worked: a replica the others cannot see must take nothing.
func (s *Set) renewReplica(ctx context.Context, l *coordinationv1.Lease) bool {
	now := metav1.NewMicroTime(time.Now())
	if l == nil {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: s.replicaLease(), Namespace: s.opts.Namespace}}
		l.Spec = s.record(now, now, 0)
		l.Labels = s.labels(kindReplica)
		if _, err := s.leases.Leases(s.opts.Namespace).Create(ctx, l, metav1.CreateOptions{}); err != nil {
			s.log.Error(err, "create the replica's Lease")
			return false
		}
		return true
	}
	l = l.DeepCopy()
	l.Spec.RenewTime = &now
	if _, err := s.leases.Leases(s.opts.Namespace).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		s.log.Error(err, "renew the replica's Lease")
		return false
	}
	return true
}

// renewShard renews a held shard's Lease and returns it as written.
// Another's write since this replica's last (a conflict) means the shard
// is lost.
func (s *Set) renewShard(ctx context.Context, i int, l *coordinationv1.Lease) *coordinationv1.Lease {
	if l == nil {
		s.lose(i, "its Lease is gone")
		return l
	}
	if ptr.Deref(l.Spec.HolderIdentity, "") != s.opts.Identity {
		s.lose(i, "its Lease names another holder")
		return l
	}
	renewal := l.DeepCopy()
	sent := time.Now()
	renewal.Spec.RenewTime = ptr.To(metav1.NewMicroTime(sent))
	written, err := s.leases.Leases(s.opts.Namespace).Update(ctx, renewal, metav1.UpdateOptions{})
	switch {
	case err == nil:
		s.mu.Lock()
		s.shards[i].renewed = sent
		s.mu.Unlock()
		return written
	case apierrors.IsConflict(err):
		s.lose(i, "its Lease was written by another")
	default:
		s.log.Error(err, "renew a shard's Lease", "shard", i)
	}
	return l
}

// lose marks shard i lost: its reconciles under way are cancelled, and
// those who asked (OnLose) told.
func (s *Set) lose(i int, why string) {
	s.mu.Lock()
	sh := &s.shards[i]
	sh.held, sh.leaving = false, false
	if sh.end != nil {
		sh.end()
	}
	lost := slices.Clone(s.lost)
	s.mu.Unlock()
	for _, f := range lost {
		f(i)
	}
	s.log.Info("lost a shard: "+why, "shard", i)
}

// acquire takes shard i's Lease (l: as last read, nil if there is none).
// The write is checked against l's resourceVersion: of two replicas
// taking one shard, one wins.
func (s *Set) acquire(ctx context.Context, i int, l *coordinationv1.Lease) bool {
	sent := time.Now()
	now := metav1.NewMicroTime(sent)
	var err error
	if l == nil {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: s.shardLease(i), Namespace: s.opts.Namespace, Labels: s.labels(kindShard)}}
		l.Spec = s.record(now, now, 0)
		_, err = s.leases.Leases(s.opts.Namespace).Create(ctx, l, metav1.CreateOptions{})
	} else {
		l = l.DeepCopy()
		transitions := ptr.Deref(l.Spec.LeaseTransitions, 0)
		if ptr.Deref(l.Spec.HolderIdentity, "") != s.opts.Identity {
			transitions++
		}
		l.Spec = s.record(now, now, transitions)
		l.Labels = s.labels(kindShard)
		_, err = s.leases.Leases(s.opts.Namespace).Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			s.log.Error(err, "take a shard's Lease", "shard", i)
		}
		return false
	}
	s.mu.Lock()
	sh := &s.shards[i]
	// Reconciles of an earlier tenure may still be ending: their count
	// stays, or a release could come before they end.
	sh.held, sh.leaving, sh.renewed = true, false, sent
	sh.tenure, sh.end = context.WithCancel(context.Background())
	for _, sub := range s.subs {
		sub.add(i)
	}
	s.mu.Unlock()
	s.log.Info("took a shard", "shard", i)
	return true
}

// release writes shard i's Lease free once the reconciles under way in
// it have ended (else it waits for the next round), so another replica
// takes it on its own next round.
func (s *Set) release(ctx context.Context, i int, l *coordinationv1.Lease) {
	if s.busy(i) {
		return
	}
	s.lose(i, "released")
	if l == nil || ptr.Deref(l.Spec.HolderIdentity, "") != s.opts.Identity {
		return
	}
	l = l.DeepCopy()
	l.Spec.HolderIdentity = ptr.To("")
	l.Spec.AcquireTime, l.Spec.RenewTime = nil, nil
	l.Spec.LeaseDurationSeconds = ptr.To[int32](1)
	if _, err := s.leases.Leases(s.opts.Namespace).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		s.log.Error(err, "release a shard's Lease; it lapses on its own", "shard", i)
	}
}

// shutdown releases every shard once its reconciles have ended (they
// end with the manager's own shutdown), and deletes the replica's Lease;
// what is not done within the renew deadline lapses on its own.
func (s *Set) shutdown() {
	deadline := time.Now().Add(s.opts.RenewDeadline)
	for _, i := range s.Held() {
		s.leave(i, "shutting down")
	}
	for _, i := range s.Held() {
		for s.busy(i) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	list, err := s.leases.Leases(s.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelLease})
	if err != nil {
		s.log.Error(err, "list shard Leases at shutdown; they lapse on their own")
		return
	}
	byName := map[string]*coordinationv1.Lease{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	for _, i := range s.Held() {
		s.release(ctx, i, byName[s.shardLease(i)])
	}
	_ = s.leases.Leases(s.opts.Namespace).Delete(ctx, s.replicaLease(), metav1.DeleteOptions{})
}

func (s *Set) record(acquired, renewed metav1.MicroTime, transitions int32) coordinationv1.LeaseSpec {
	return coordinationv1.LeaseSpec{
		HolderIdentity:       ptr.To(s.opts.Identity),
		LeaseDurationSeconds: ptr.To(int32(s.opts.LeaseDuration / time.Second)),
		AcquireTime:          &acquired,
		RenewTime:            &renewed,
		LeaseTransitions:     &transitions,
	}
}

func (s *Set) labels(kind string) map[string]string {
	return map[string]string{labelLease: kind, labelShards: strconv.Itoa(s.opts.Shards)}
}
