package rollout_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/controller/rollout"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestStaleReadTellsNothingTwice: a pass that reads the Rollout from a
// cache that has not yet seen the last status write takes again the
// decisions the last pass took. Its status write is refused, and it must
// not tell of them again. Left to chance, a lagging cache happens on some
// machines and not on others, so the test makes it certain: once the
// controller has handled a promotion, its client hands the next pass the
// Rollout as it was when the request arrived.
func TestStaleReadTellsNothingTwice(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	stale := &staleClient{}
	told := &toldRecorder{}
	startWith(t, e, stale, told)
	canaryAt25(t, e, "web")

	// The request, and the Rollout as the API server answered its write:
	// the annotation there, the status not yet touched.
	var asRequested *rampv1.Rollout
	token := "stale-test-1"
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ro := e.Get("web")
		ro.Annotations = map[string]string{rampv1.AnnotationPromote: token}
		if err := e.C.Update(context.Background(), ro); err != nil {
			return err
		}
		asRequested = ro.DeepCopy()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
	promoted := fmt.Sprintf("Step 2/4 (pause until promoted) promoted (request %s)", token)
	clustertest.Eventually(t, fixture.Wait, "the promotion told", func(context.Context) (bool, string) {
		return told.count(promoted) > 0, "not yet"
	})
	if n := told.count(promoted); n != 1 {
		t.Fatalf("%q told %d times before the stale read", promoted, n)
	}

	// The next pass reads the Rollout from before the promotion, sees the
	// request as new and handles it again.
	served := stale.serve(asRequested)
	e.Update("web", func(ro *rampv1.Rollout) { ro.Labels = map[string]string{"poked": "yes"} }) // a pass now
	select {
	case <-served:
	case <-time.After(fixture.Wait):
		t.Fatalf("no pass read the Rollout within %s of the change", fixture.Wait)
	}
	clustertest.Eventually(t, fixture.Wait, "a pass after the stale one", func(context.Context) (bool, string) {
		return stale.readsAfter() > 0, "no read since"
	})
	if stale.conflicts() == 0 {
		t.Fatal("the stale pass wrote no status, or its write was not refused: the race this test is about did not happen")
	}
	if n := told.count(promoted); n != 1 {
		t.Errorf("%q told %d times; the stale pass told it again", promoted, n)
	}
	ro := e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:2 2:2"}, fixture.Wait)
	if got := history(ro.Status.StepHistory); got != "0:Passed 1:Promoted 2:Passed 3:running" {
		t.Errorf("step history %s", got)
	}
}

// TestOnePassTellsAllItsSteps: a promotion that lets the next step finish
// in the same pass tells of both steps, in the one Event of that pass.
func TestOnePassTellsAllItsSteps(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	// The second setWeight asks what the first reached: done at once.
	canaryAt25(t, e, "web", fixture.SetWeight(25), fixture.Pause(0), fixture.SetWeight(25), fixture.Pause(0))
	e.Request("web", rampv1.AnnotationPromote)
	e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "3", Replicas: "1:3 2:1"}, fixture.Wait)
	for _, want := range []string{"Step 2/4 (pause until promoted) promoted (request ", "Step 3/4 (setWeight 25%) done"} {
		clustertest.Eventually(t, 10*time.Second, "an Event that tells "+want, func(ctx context.Context) (bool, string) {
			var list eventsv1.EventList
			if err := e.C.List(ctx, &list, client.InNamespace(e.NS)); err != nil {
				return false, err.Error()
			}
			var notes []string
			for _, ev := range list.Items {
				if slices.Contains(fixture.Reasons(&ev), "StepCompleted") {
					if strings.Contains(ev.Note, want) {
						return true, ""
					}
					notes = append(notes, ev.Note)
				}
			}
			return false, fmt.Sprintf("StepCompleted notes: %q", notes)
		})
	}
}

// startWith runs the Rollout controller of the test's namespace with c in
// front of its client and rec in front of its events recorder.
func startWith(t *testing.T, e *fixture.Env, c *staleClient, rec *toldRecorder) {
	mgr, err := ctrl.NewManager(clustertest.Config(t), ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{e.NS: {}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Client, rec.EventRecorder = mgr.GetClient(), mgr.GetEventRecorder("ramp-controller")
	ctx, cancel := context.WithCancel(context.Background())
	r := &rollout.Reconciler{Client: c, Scheme: mgr.GetScheme(), Recorder: rec}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
}

// staleClient serves, when told, one read of a Rollout from a copy held
// back, as a lagging cache would, and counts the status writes refused
// since.
type staleClient struct {
	client.Client
	mu       sync.Mutex
	held     *rampv1.Rollout
	served   chan struct{}
	after    int // reads of the Rollout since the held copy was served
	refused  int
	serving  bool
	consumed bool
}

// serve hands the next read of ro's Rollout ro instead; the channel closes
// once it has.
func (c *staleClient) serve(ro *rampv1.Rollout) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held, c.served, c.serving = ro.DeepCopy(), make(chan struct{}), true
	return c.served
}

func (c *staleClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	ro, ok := obj.(*rampv1.Rollout)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok && c.serving && key == client.ObjectKeyFromObject(c.held) {
		c.held.DeepCopyInto(ro)
		c.serving, c.consumed = false, true
		close(c.served)
		return nil
	}
	if ok && c.consumed {
		c.after++
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *staleClient) readsAfter() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.after
}

func (c *staleClient) conflicts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

func (c *staleClient) Status() client.SubResourceWriter {
	return refusals{c.Client.Status(), c}
}

// refusals counts the status writes the API server refuses for a conflict.
type refusals struct {
	client.SubResourceWriter
	c *staleClient
}

func (w refusals) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	err := w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
	if apierrors.IsConflict(err) {
		w.c.mu.Lock()
		w.c.refused++
		w.c.mu.Unlock()
	}
	return err
}

// toldRecorder keeps the notes of the events recorded through it.
type toldRecorder struct {
	recorder.EventRecorder
	mu    sync.Mutex
	notes []string
}

func (r *toldRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, typ, reason, action, note string, args ...any) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(note, args...))
	r.mu.Unlock()
	r.EventRecorder.AnnotatedEventf(regarding, related, annotations, typ, reason, action, note, args...)
}

func (r *toldRecorder) count(note string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(r.notes), func(n string) bool { return !strings.Contains(n, note) }))
}
