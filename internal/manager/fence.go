package manager

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// A fence keeps a replica that may have lost its leader Lease from
// writing. Leader election alone does not: a leader frozen (SIGSTOP, a
// stalled VM, a long GC pause) past the Lease's duration is replaced, and
// when it thaws its workers carry on with their reconciles, on a stale
// cache, before its elector notices the loss and the process exits.
//
// The fence wraps the Lease lock and remembers when this replica last
// wrote the Lease as its holder, timed from before the write was sent. No
// other replica can take the Lease until a full Lease duration after it
// saw that write, so writes are safe within a shorter window (the renew
// deadline) of that instant; past it, every write is refused until the
// Lease is renewed again, which the elector either does within the same
// deadline or gives up and ends the process. A write already on the wire
// when the process froze is beyond any client-side fence: the API server's
// resourceVersion checks are what stop those.
type fence struct {
	resourcelock.Interface
	window  time.Duration
	renewed atomic.Pointer[time.Time]
	// holder is who held the Lease when this replica last read it.
	holder atomic.Pointer[string]
	// also, when set, must allow a write too (shards still held).
	also func() error
}

func newFence(lock resourcelock.Interface, window time.Duration) *fence {
	return &fence{Interface: lock, window: window}
}

// Create records the Lease's first acquisition.
func (f *fence) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	sent := time.Now()
	err := f.Interface.Create(ctx, rec)
	f.record(sent, rec, err)
	return err
}

// Get remembers who holds the Lease.
func (f *fence) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := f.Interface.Get(ctx)
	if err == nil {
		h := rec.HolderIdentity
		f.holder.Store(&h)
	}
	return rec, raw, err
}

// Update records each renewal (and forgets the Lease on release). A
// release of a Lease another replica holds writes nothing: the elector
// reads the Lease, then releases it if its own last view says it leads,
// which a replica thawed after another took the Lease still believes;
// written, the release would clear the new leader's hold.
func (f *fence) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	if h := f.holder.Load(); rec.HolderIdentity == "" && (h == nil || *h != f.Identity()) {
		f.renewed.Store(nil)
		return nil
	}
	sent := time.Now()
	err := f.Interface.Update(ctx, rec)
	f.record(sent, rec, err)
	return err
}

func (f *fence) record(sent time.Time, rec resourcelock.LeaderElectionRecord, err error) {
	switch {
	case err != nil:
	case rec.HolderIdentity == f.Identity():
		f.renewed.Store(&sent)
	default:
		f.renewed.Store(nil)
	}
}

// Check says whether this replica may write now.
func (f *fence) Check() error {
	renewed := f.renewed.Load()
	if renewed == nil {
		return fmt.Errorf("not writing: replica %s does not hold the leader Lease", f.Identity())
	}
	// time.Since reads the monotonic clock, which runs on while the
	// process is stopped: a thawed replica sees the whole gap.
	if age := time.Since(*renewed); age > f.window {
		return fmt.Errorf("not writing: replica %s last renewed the leader Lease %s ago (limit %s); another replica may lead now",
			f.Identity(), age.Round(time.Second), f.window)
	}
	if f.also != nil {
		return f.also()
	}
	return nil
}

// Client returns c with every write checked against the fence; reads pass.
func (f *fence) Client(c client.Client) client.Client {
	return fencedClient{Client: c, check: func(context.Context) error { return f.Check() }}
}

// Recorder returns r emitting events only while the fence allows writes:
// a deposed leader's "promoted" would be as false as its status write.
func (f *fence) Recorder(r recorder.EventRecorder) recorder.EventRecorder {
	return fencedRecorder{EventRecorder: r, check: func(runtime.Object) error { return f.Check() }}
}

// A fencedClient checks each write before it is sent: against the leader
// fence, or against the shard the write's reconcile belongs to.
type fencedClient struct {
	client.Client
	check func(context.Context) error
}

func (c fencedClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	return c.Client.Create(ctx, obj, opts...)
}

func (c fencedClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	return c.Client.Update(ctx, obj, opts...)
}

func (c fencedClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c fencedClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	return c.Client.Apply(ctx, obj, opts...)
}

func (c fencedClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	return c.Client.Delete(ctx, obj, opts...)
}

func (c fencedClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	return c.Client.DeleteAllOf(ctx, obj, opts...)
}

func (c fencedClient) Status() client.SubResourceWriter {
	return fencedSubResource{SubResourceClient: c.Client.SubResource("status"), check: c.check}
}

func (c fencedClient) SubResource(name string) client.SubResourceClient {
	return fencedSubResource{SubResourceClient: c.Client.SubResource(name), check: c.check}
}

type fencedSubResource struct {
	client.SubResourceClient
	check func(context.Context) error
}

func (s fencedSubResource) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.SubResourceClient.Create(ctx, obj, sub, opts...)
}

func (s fencedSubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.SubResourceClient.Update(ctx, obj, opts...)
}

func (s fencedSubResource) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.SubResourceClient.Patch(ctx, obj, patch, opts...)
}

func (s fencedSubResource) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.SubResourceClient.Apply(ctx, obj, opts...)
}

// A fencedRecorder emits an Event only while its regarding object's
// writes would be allowed.
type fencedRecorder struct {
	recorder.EventRecorder
	check func(regarding runtime.Object) error
}

func (r fencedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	if r.check(regarding) == nil {
		r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
	}
}

func (r fencedRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any) {
	if r.check(regarding) == nil {
		r.EventRecorder.AnnotatedEventf(regarding, related, annotations, eventtype, reason, action, note, args...)
	}
}
