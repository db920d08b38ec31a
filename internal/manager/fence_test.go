package manager

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// lease is a resourcelock.Interface in memory, failing when told to.
type lease struct {
	rec  resourcelock.LeaderElectionRecord
	fail error
}

func (l *lease) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	return &l.rec, nil, nil
}

func (l *lease) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.Update(context.Background(), r)
}

func (l *lease) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	if l.fail != nil {
		return l.fail
	}
	l.rec = r
	return nil
}

func (l *lease) RecordEvent(string) {}
func (l *lease) Identity() string   { return "me" }
func (l *lease) Describe() string   { return "test/lease" }

func TestFence(t *testing.T) {
	ctx := context.Background()
	mine := resourcelock.LeaderElectionRecord{HolderIdentity: "me"}
	for _, tc := range []struct {
		name  string
		steps func(f *fence, l *lease)
		want  string // "" allows writes; else a part of the refusal
	}{
		{"never held", func(*fence, *lease) {}, "does not hold"},
		{"acquired", func(f *fence, _ *lease) { _ = f.Create(ctx, mine) }, ""},
		{"renewed", func(f *fence, _ *lease) { _ = f.Update(ctx, mine) }, ""},
		{"renewal failed, earlier one recent", func(f *fence, l *lease) {
			_ = f.Update(ctx, mine)
			l.fail = errors.New("conflict")
			_ = f.Update(ctx, mine)
		}, ""},
		{"last renewal too old (frozen past the window)", func(f *fence, _ *lease) {
			long := time.Now().Add(-renewDeadline - time.Second)
			f.renewed.Store(&long)
		}, "last renewed the leader Lease 11s ago"},
		{"released", func(f *fence, _ *lease) {
			_ = f.Update(ctx, mine)
			_ = f.Update(ctx, resourcelock.LeaderElectionRecord{})
		}, "does not hold"},
		{"never acquired: another holds it", func(f *fence, l *lease) {
			l.fail = errors.New("held by other")
			_ = f.Create(ctx, mine)
		}, "does not hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &lease{}
			f := newFence(l, renewDeadline)
			tc.steps(f, l)
			err := f.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("writes refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
}

// TestFenceReleasesOnlyItsOwnLease: the elector's release (an empty
// holder) is written when the Lease, as last read, is this replica's, and
// not when another replica took it meanwhile.
func TestFenceReleasesOnlyItsOwnLease(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		holder, want string
	}{{"me", ""}, {"other", "other"}} {
		l := &lease{rec: resourcelock.LeaderElectionRecord{HolderIdentity: tc.holder}}
		f := newFence(l, renewDeadline)
		if _, _, err := f.Get(ctx); err != nil {
			t.Fatal(err)
		}
		if err := f.Update(ctx, resourcelock.LeaderElectionRecord{}); err != nil {
			t.Fatal(err)
		}
		if l.rec.HolderIdentity != tc.want {
			t.Errorf("released a Lease held by %q: its holder is now %q; want %q", tc.holder, l.rec.HolderIdentity, tc.want)
		}
		if err := f.Check(); err == nil {
			t.Errorf("released a Lease held by %q: writes still allowed", tc.holder)
		}
	}
}

// TestFencedClient: every kind of write is refused outside the window,
// reads still pass, and inside it the writes reach the server.
func TestFencedClient(t *testing.T) {
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm"}}
	base := fake.NewClientBuilder().WithObjects(cm.DeepCopy()).Build()
	f := newFence(&lease{}, renewDeadline)
	c := f.Client(base)

	writes := map[string]func() error{
		"create": func() error {
			return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "new"}})
		},
		"update": func() error { return c.Update(ctx, cm.DeepCopy()) },
		"patch": func() error {
			return c.Patch(ctx, cm.DeepCopy(), client.RawPatch("application/merge-patch+json", []byte(`{}`)))
		},
		"status update": func() error { return c.Status().Update(ctx, cm.DeepCopy()) },
		"status patch":  func() error { return c.Status().Patch(ctx, cm.DeepCopy(), client.MergeFrom(cm)) },
		"delete all":    func() error { return c.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace("other")) },
		"delete": func() error {
			return c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "new"}})
		},
	}
	order := []string{"create", "update", "patch", "status update", "status patch", "delete all", "delete"}
	for _, name := range order {
		if err := writes[name](); err == nil || !strings.Contains(err.Error(), "not writing") {
			t.Errorf("%s outside the window: got %v, want a refusal", name, err)
		}
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err != nil {
		t.Errorf("a read was refused: %v", err)
	}

	if err := f.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
		t.Fatal(err)
	}
	created := func() bool {
		return base.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "new"}, &corev1.ConfigMap{}) == nil
	}
	for _, name := range order {
		// The fake refuses a status write of a ConfigMap (no status
		// subresource); what matters is that the fence let it through.
		if err := writes[name](); err != nil && strings.Contains(err.Error(), "not writing") {
			t.Errorf("%s inside the window was refused: %v", name, err)
		}
		if name == "create" && !created() {
			t.Error("the create inside the window did not reach the server")
		}
	}
	if created() {
		t.Error("the delete inside the window did not reach the server")
	}
}
