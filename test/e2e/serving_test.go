package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
)

// What the tests that move or remove a serving application watch: the
// requests of a load through the mesh stand-in, and the ready pods.

// load sends 200 requests/s to app through the mesh until stop, which
// goes on for as long as a proxy may act on the last change.
func load(t *testing.T, plane *dataplane.Plane, app string) (stop func() *dataplane.Tally) {
	t.Helper()
	tally := dataplane.NewTally()
	ctx, cancel := context.WithCancel(context.Background())
	done, err := plane.StartLoad(ctx, fixture.Wait, tally, app, 200, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() *dataplane.Tally {
		time.Sleep(lagged.Max() + time.Second)
		cancel()
		<-done
		return tally
	}
}

// podUIDs lists the ready pods of app.
func podUIDs(t *testing.T, e *fixture.Env, app string) []string {
	t.Helper()
	var pods corev1.PodList
	if err := e.C.List(context.Background(), &pods, client.InNamespace(e.NS), client.MatchingLabels{"app": app}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range pods.Items {
		if fixture.PodReady(&pods.Items[i]) {
			out = append(out, string(pods.Items[i].UID))
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return len(a) == len(b)
}

// readyWatch follows, from a watch of the namespace's pods (every change,
// not samples), the fewest ready pods each app had since it started.
type readyWatch struct {
	mu     sync.Mutex
	ready  map[string]map[string]bool // app → pod → ready
	fewest map[string]int
	ended  bool // the watch ended before the test did
}

func watchReady(t *testing.T, cfg *rest.Config, ns string) *readyWatch {
	t.Helper()
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var pods corev1.PodList
	if err := wc.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	r := &readyWatch{ready: map[string]map[string]bool{}, fewest: map[string]int{}}
	for i := range pods.Items {
		pod := &pods.Items[i]
		app := pod.Labels["app"]
		if r.ready[app] == nil {
			r.ready[app] = map[string]bool{}
		}
		r.ready[app][pod.Name] = fixture.PodReady(pod)
	}
	for app := range r.ready {
		r.fewest[app] = r.count(app)
	}
	// From the list's version on: every change after it.
	w, err := wc.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: pods.ResourceVersion}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev := range w.ResultChan() {
			if pod, ok := ev.Object.(*corev1.Pod); ok {
				r.see(pod, ev.Type == watch.Deleted)
			}
		}
		r.mu.Lock()
		r.ended = ctx.Err() == nil
		r.mu.Unlock()
	}()
	t.Cleanup(func() { cancel(); w.Stop() })
	return r
}

func (r *readyWatch) see(pod *corev1.Pod, deleted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	app := pod.Labels["app"]
	if r.ready[app] == nil {
		r.ready[app] = map[string]bool{}
	}
	r.ready[app][pod.Name] = !deleted && fixture.PodReady(pod)
	if n := r.count(app); n < r.fewest[app] {
		r.fewest[app] = n
	}
}

func (r *readyWatch) count(app string) int {
	n := 0
	for _, ok := range r.ready[app] {
		if ok {
			n++
		}
	}
	return n
}

// min is the fewest ready pods app had; -1 if the watch ended early.
func (r *readyWatch) min(app string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return -1
	}
	return r.fewest[app]
}
