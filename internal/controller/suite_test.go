package controller_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) {
	// Controller logs go to stderr, which go test shows for failed runs.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	clustertest.Main(m)
}

// env is one test's namespace, a client, and a controller watching only
// that namespace, run in this process.
type env struct {
	t  *testing.T
	ns string
	c  client.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ns: ns, c: c}
	e.startController()
	return e
}

// startController runs the controller until the test ends.
func (e *env) startController() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- manager.Run(ctx, clustertest.Config(e.t), manager.Options{
			MetricsAddr: "0", ProbeAddr: "0", Namespace: e.ns, Concurrency: 2, InProcessTest: true,
		})
	}()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("controller: %v", err)
		}
	})
}

// rollout is a Rollout of 4 replicas running image, with the given steps,
// a scale-down delay of 2s and a surge of one pod.
func (e *env) rollout(name, image string, steps ...rampv1.Step) *rampv1.Rollout {
	labels := map[string]string{"app": name}
	return &rampv1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: rampv1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
			Strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{
				Steps:                 steps,
				ScaleDownDelaySeconds: ptr.To[int32](2),
			}},
		},
	}
}

func setWeight(p int64) rampv1.Step { return rampv1.Step{SetWeight: ptr.To(rampv1.Percent(p))} }

func pause(d time.Duration) rampv1.Step {
	if d == 0 {
		return rampv1.Step{Pause: &rampv1.PauseStep{}}
	}
	return rampv1.Step{Pause: &rampv1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
}

func (e *env) create(obj client.Object) {
	e.t.Helper()
	if err := e.c.Create(context.Background(), obj); err != nil {
		e.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func (e *env) get(name string) *rampv1.Rollout {
	e.t.Helper()
	ro := &rampv1.Rollout{}
	if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: name}, ro); err != nil {
		e.t.Fatal(err)
	}
	return ro
}

// update changes a Rollout's spec or metadata, retrying on conflicts with
// the controller's status writes.
func (e *env) update(name string, change func(*rampv1.Rollout)) {
	e.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ro := e.get(name)
		change(ro)
		return e.c.Update(context.Background(), ro)
	})
	if err != nil {
		e.t.Fatalf("update %s: %v", name, err)
	}
}

func (e *env) setImage(name, image string) {
	e.update(name, func(ro *rampv1.Rollout) { ro.Spec.Template.Spec.Containers[0].Image = image })
}

// request writes a control annotation with a fresh token.
func (e *env) request(name, annotation string) {
	token := strconv.FormatInt(time.Now().UnixNano(), 10)
	e.update(name, func(ro *rampv1.Rollout) {
		if ro.Annotations == nil {
			ro.Annotations = map[string]string{}
		}
		ro.Annotations[annotation] = token
	})
}

// state is what a test asserts about a Rollout at one moment.
type state struct {
	Phase    rampv1.Phase
	Step     string // "" without a canary, else the step index
	Replicas string // replicas of each revision, by revision number: "1:3 2:1"
}

func (s state) String() string {
	return fmt.Sprintf("phase=%s step=%s replicas=[%s]", s.Phase, s.Step, s.Replicas)
}

// observe reads the Rollout and its ReplicaSets.
func (e *env) observe(ctx context.Context, name string) (state, *rampv1.Rollout, error) {
	ro := &rampv1.Rollout{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, ro); err != nil {
		return state{}, nil, err
	}
	s := state{Phase: ro.Status.Phase}
	if ro.Status.CurrentStepIndex != nil {
		s.Step = strconv.Itoa(int(*ro.Status.CurrentStepIndex))
	}
	rss, err := e.replicaSets(ctx, name)
	if err != nil {
		return state{}, nil, err
	}
	var parts []string
	for _, rs := range rss {
		parts = append(parts, fmt.Sprintf("%s:%d", rs.Annotations[rampv1.AnnotationRevisionNumber], ptr.Deref(rs.Spec.Replicas, 0)))
	}
	s.Replicas = strings.Join(parts, " ")
	return s, ro, nil
}

// replicaSets lists the Rollout's ReplicaSets by revision number.
func (e *env) replicaSets(ctx context.Context, name string) ([]appsv1.ReplicaSet, error) {
	var list appsv1.ReplicaSetList
	if err := e.c.List(ctx, &list, client.InNamespace(e.ns), client.MatchingLabels{"app": name}); err != nil {
		return nil, err
	}
	list.Items = slices.DeleteFunc(list.Items, func(rs appsv1.ReplicaSet) bool {
		owner := metav1.GetControllerOf(&rs)
		return owner == nil || owner.Kind != "Rollout" // an adopted Deployment's own
	})
	sort.Slice(list.Items, func(i, j int) bool {
		a, _ := strconv.Atoi(list.Items[i].Annotations[rampv1.AnnotationRevisionNumber])
		b, _ := strconv.Atoi(list.Items[j].Annotations[rampv1.AnnotationRevisionNumber])
		return a < b
	})
	return list.Items, nil
}

// waitFor waits until the Rollout is in state want, with every ReplicaSet
// settled (its pods as many as asked, all available), and returns it.
func (e *env) waitFor(name string, want state, timeout time.Duration) *rampv1.Rollout {
	e.t.Helper()
	var ro *rampv1.Rollout
	clustertest.Eventually(e.t, timeout, name+" "+want.String(), func(ctx context.Context) (bool, string) {
		got, r, err := e.observe(ctx, name)
		if err != nil {
			return false, err.Error()
		}
		ro = r
		if got != want {
			return false, got.String() + " " + ro.Status.Message
		}
		rss, err := e.replicaSets(ctx, name)
		if err != nil {
			return false, err.Error()
		}
		var pods, available int32
		current := ro.Status.CanaryRevision
		if current == "" {
			current = ro.Status.StableRevision
		}
		for _, rs := range rss {
			n := ptr.Deref(rs.Spec.Replicas, 0)
			if rs.Status.ObservedGeneration < rs.Generation || rs.Status.Replicas != n || rs.Status.AvailableReplicas != n {
				return false, fmt.Sprintf("ReplicaSet %s not settled: %d/%d/%d", rs.Name, n, rs.Status.Replicas, rs.Status.AvailableReplicas)
			}
			pods, available = pods+rs.Status.Replicas, available+rs.Status.AvailableReplicas
			if rs.Labels[rampv1.LabelRevision] == current && (ro.Status.UpdatedReplicas != rs.Status.Replicas ||
				ro.Status.UpdatedAvailableReplicas != rs.Status.AvailableReplicas) {
				return false, "status has not caught up with ReplicaSet " + rs.Name
			}
		}
		// The controller has seen the settled ReplicaSets too.
		if ro.Status.Replicas != pods || ro.Status.AvailableReplicas != available {
			return false, fmt.Sprintf("status counts %d/%d, ReplicaSets %d/%d", ro.Status.Replicas, ro.Status.AvailableReplicas, pods, available)
		}
		return true, ""
	})
	return ro
}

// eventReasons lists the reasons of the Rollout's events, oldest first.
func (e *env) eventReasons(name string) []string {
	e.t.Helper()
	var list eventsv1.EventList
	if err := e.c.List(context.Background(), &list, client.InNamespace(e.ns)); err != nil {
		e.t.Fatal(err)
	}
	sort.SliceStable(list.Items, func(i, j int) bool {
		return eventTime(&list.Items[i]).Before(eventTime(&list.Items[j]))
	})
	var reasons []string
	for _, ev := range list.Items {
		if ev.Regarding.Kind == "Rollout" && ev.Regarding.Name == name {
			reasons = append(reasons, ev.Reason)
		}
	}
	return reasons
}

func eventTime(ev *eventsv1.Event) time.Time {
	if !ev.EventTime.IsZero() {
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}

// containsInOrder reports whether want appears in got as a subsequence.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func join(s []string) string { return strings.Join(s, ",") }

func itoa(n int) string { return strconv.Itoa(n) }
