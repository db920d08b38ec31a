// Package safety proves that Ramp loses no request where other canary
// controllers lose some: at a promotion, an abort, a rollback by failed
// analysis, a canary replaced in flight, a retry after an abort. A Rollout
// goes through all five under a constant load sent through the mesh
// stand-in (package dataplane), whose proxies apply every change of routes
// and endpoints late, each at its own pace, and never retry; every request
// is recorded, and those a bad version fails on purpose are told apart.
// The end-to-end test runs a short matrix of routers and lags, the
// benchmark the whole one; both run the negative control, the same story
// with Ramp's delays forced to zero, which must lose requests.
package safety

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// Scenario is one moment of a Rollout's life that may lose requests.
type Scenario string

// The scenarios, in the order a cell runs them.
const (
	// Promote takes a good version through its steps to promotion.
	Promote Scenario = "promotion"
	// Abort aborts a canary holding 25% of the traffic.
	Abort Scenario = "abort"
	// Retry retries the aborted canary, which is then promoted.
	Retry Scenario = "retry after abort"
	// Replace changes the template while a canary holds 25%; the newer
	// version is promoted.
	Replace Scenario = "replaced in flight"
	// Analysis releases a version that fails 50% of its requests on
	// purpose; its analysis fails and rolls it back.
	Analysis Scenario = "failed analysis"
)

// Scenarios are all of them, in order.
var Scenarios = []Scenario{Promote, Abort, Retry, Replace, Analysis}

// Cell is one run: a router, a lag, and whether Ramp's delays are on.
type Cell struct {
	Router fixture.Router
	// BlueGreen runs a blue/green Rollout through Router, a mesh router:
	// the switch is its weight going from 0 to 100. (fixture.BlueGreen
	// is blue/green without a mesh, switching the active Service.)
	BlueGreen bool
	// Lag is when each proxy applies a change of routes or endpoints.
	Lag dataplane.Lag
	// Report: the mesh writes what its proxies applied into the routing
	// objects' status (Gateway API, Istio), and Ramp waits for that.
	Report bool
	// Unsafe forces Ramp's delays to zero (abortScaleDownDelaySeconds,
	// endpointPropagationSeconds, scaleDownDelaySeconds) and the app's
	// preStop sleep too: the negative control.
	Unsafe bool
	// Rate is the load, requests per second over all proxies.
	Rate int
	// Scenarios to run; all when empty. Abort, Retry and Analysis need
	// the ones before them.
	Scenarios []Scenario
}

// Name is what the cell runs: the router, and the strategy when it is
// blue/green through a mesh.
func (c Cell) Name() string {
	if c.BlueGreen && c.Router != fixture.BlueGreen {
		return fmt.Sprintf("%s (%s)", fixture.BlueGreen, c.Router)
	}
	return string(c.Router)
}

// blueGreen reports whether the cell's Rollout is blue/green.
func (c Cell) blueGreen() bool { return c.BlueGreen || c.Router == fixture.BlueGreen }

func (c Cell) String() string {
	s := fmt.Sprintf("%s, lag %s+%s", c.Name(), c.Lag.Base, c.Lag.Jitter)
	if c.Report {
		s += ", reported"
	}
	if c.Unsafe {
		s += ", delays 0"
	}
	return s
}

// Delay is the value of Ramp's delays in a cell: a second more than the
// latest a proxy applies a change, in whole seconds.
func (c Cell) Delay() time.Duration {
	if c.Unsafe {
		return 0
	}
	return time.Duration(math.Ceil(c.Lag.Max().Seconds()))*time.Second + time.Second
}

// Proxies is how many proxies the mesh runs.
const Proxies = 3

// Run runs a cell and returns what its load saw. It fails t if a scenario
// does not end as it should (promoted, or rolled back with its pods gone),
// never because requests failed: the caller says what the count must be.
func Run(t testing.TB, c Cell) *Result {
	t.Helper()
	if c.Rate == 0 {
		c.Rate = 200
	}
	scenarios := c.Scenarios
	if len(scenarios) == 0 {
		scenarios = Scenarios
	}
	e := fixture.New(t)
	ctx := context.Background()
	delay := c.Delay()
	grace := time.Duration(0) // the worst case: an app that stops at once
	if c.Router == fixture.PodRatio {
		grace = delay // the preStop sleep the docs ask for
	}
	plane, err := dataplane.Start(ctx, clustertest.Config(t), e.NS, dataplane.Options{
		Grace: grace,
		Mesh:  dataplane.MeshOptions{Proxies: Proxies, RouteLag: c.Lag, EndpointLag: c.Lag, Report: c.Report},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plane.Close)
	e.StartController()

	r := &run{Env: e, cell: c, res: &Result{Cell: c, Delay: delay}, tally: dataplane.NewTally()}
	errors := serveErrorRate(t, r.tally)
	e.Create(errors.template(e.NS, "errors", 0))
	e.Create(errors.template(e.NS, "errors-3", 3))
	e.Create(r.rollout(delay))
	r.version = 1
	e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
	r.routes = e.Record(c.Router.GVK())
	r.replicaSets = e.Record(fixture.PodRatio.GVK())
	// The load starts on a mesh at rest: every proxy knows v1's pods.
	loadCtx, stopLoad := context.WithCancel(ctx)
	done, err := plane.StartLoad(loadCtx, fixture.Wait, r.tally, "web", c.Rate, nil)
	if err != nil {
		stopLoad()
		t.Fatal(err)
	}
	stop := func() { stopLoad(); <-done }
	defer stop()
	for _, s := range scenarios {
		r.scenario(s)
	}
	// The load goes on for as long as a proxy may still act on the last
	// change: the observation window of the last scenario.
	time.Sleep(c.Lag.Max() + time.Second)
	stop()
	r.res.count(r.tally)
	return r.res
}

// run is a cell in progress.
type run struct {
	*fixture.Env
	cell        Cell
	res         *Result
	tally       *dataplane.Tally
	routes      *fixture.Recorder
	replicaSets *fixture.Recorder
	// version is the newest version released, and its revision number:
	// each release makes a new revision, a retry none.
	version int
}

// rollout is web at v1: 4 pods, steps 25% and 50% with short pauses, and
// in the background the error rate of every version, measured each second.
func (r *run) rollout(delay time.Duration) *rampv1.Rollout {
	ro := r.Rollout("web", "web:v1", fixture.SetWeight(25), fixture.Pause(2*time.Second), fixture.SetWeight(50), fixture.Pause(2*time.Second))
	ctr := &ro.Spec.Template.Spec.Containers[0]
	ctr.Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	ctr.Env = []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: "v1"}}
	canary := &ro.Spec.Strategy.Canary
	seconds := ptr.To(int32(delay / time.Second))
	canary.ScaleDownDelaySeconds = seconds
	canary.Analysis = &rampv1.BackgroundAnalysis{AnalysisStep: rampv1.AnalysisStep{
		Templates: []rampv1.TemplateRef{{TemplateName: "errors"}},
	}}
	if r.cell.blueGreen() {
		r.blueGreen(ro, seconds)
		return ro
	}
	if r.cell.Router == fixture.PodRatio {
		r.Create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: r.NS},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		})
		ro.Spec.Service = "web"
		return ro
	}
	canary.AbortScaleDownDelaySeconds, canary.EndpointPropagationSeconds = seconds, seconds
	r.Route(ro, r.cell.Router)
	return ro
}

// blueGreen makes ro blue/green: behind the Service web, or through the
// cell's mesh router with web the Service clients call. It is switched as
// soon as the new version is ready, then checked for a pause and three
// measurements of its error rate before the old version goes. The pause
// outlasts the proxies' lag by 3 s, so that an abort sent once every proxy
// follows the switch (trafficMoved) comes before the promotion.
func (r *run) blueGreen(ro *rampv1.Rollout, delay *int32) {
	pause := r.cell.Lag.Max().Round(time.Second) + 3*time.Second
	bg := &rampv1.BlueGreenStrategy{
		ActiveService: "web", AutoPromotionSeconds: ptr.To[int32](0),
		PostPromotion: []rampv1.Step{fixture.Pause(pause),
			{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "errors-3"}}}}},
		ScaleDownDelaySeconds: delay, AbortScaleDownDelaySeconds: delay, EndpointPropagationSeconds: delay,
	}
	if r.cell.Router == fixture.BlueGreen {
		r.Create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: r.NS},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		})
	} else {
		// The routing a canary would have; fixture.CanaryWeight reads the
		// share of the Service named -canary.
		r.Route(ro, r.cell.Router)
		bg.ActiveService, bg.PreviewService = "web-stable", "web-canary"
		bg.TrafficRouting = ro.Spec.Strategy.Canary.TrafficRouting
	}
	ro.Spec.Strategy = rampv1.Strategy{BlueGreen: bg}
}

// scenario runs one scenario and records its window of the load.
func (r *run) scenario(s Scenario) {
	r.T.Helper()
	o := Outcome{Scenario: s, From: r.tally.Elapsed()}
	switch s {
	case Promote:
		r.release(false)
		r.promoted(r.version)
	case Abort:
		r.release(false)
		r.atWeight()
		r.trafficMoved()
		r.Request("web", rampv1.AnnotationAbort)
		o.ToZero, o.PodsGone = r.rolledBack()
	case Retry:
		r.Request("web", rampv1.AnnotationRetry)
		r.promoted(r.version)
	case Replace:
		r.release(false)
		r.atWeight()
		r.trafficMoved()
		r.release(false)
		r.promoted(r.version)
	case Analysis:
		r.release(true)
		o.ToZero, o.PodsGone = r.rolledBack()
	}
	o.To = r.tally.Elapsed()
	r.res.Outcomes = append(r.res.Outcomes, o)
}

// release moves web to the next version, failing half its requests on
// purpose if bad.
func (r *run) release(bad bool) {
	r.version++
	v := fmt.Sprintf("v%d", r.version)
	r.Update("web", func(ro *rampv1.Rollout) {
		c := &ro.Spec.Template.Spec.Containers[0]
		c.Image = "web:" + v
		c.Env = []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: v}}
		if bad {
			c.Env = append(c.Env, corev1.EnvVar{Name: dataplane.EnvErrorRate, Value: "0.5"})
		}
	})
}

// atWeight waits until the newest version's canary holds its first step's
// 25%.
func (r *run) atWeight() {
	r.T.Helper()
	clustertest.Eventually(r.T, 2*fixture.Wait, "the canary at 25%", func(ctx context.Context) (bool, string) {
		_, ro, err := r.Observe(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		rss, err := r.ReplicaSets(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		newest := rss[len(rss)-1].Labels[rampv1.LabelRevision]
		return ro.Status.CanaryRevision == newest && ro.Status.Weight.Reached.Float() >= 25, ro.Status.Message
	})
}

// trafficMoved waits, for blue/green, until every proxy sends the newest
// version the traffic the switch gave it: an abort or a new version then
// takes traffic away from pods that serve it. (A canary's weight moves on
// the proxies while its pause runs; a blue/green's switch is one write,
// and an abort right after it could take it back before any proxy acts.)
func (r *run) trafficMoved() {
	r.T.Helper()
	if !r.cell.blueGreen() {
		return
	}
	v := fmt.Sprintf("v%d", r.version)
	clustertest.Eventually(r.T, 2*fixture.Wait, "every proxy sending "+v+" its traffic", func(context.Context) (bool, string) {
		since := r.tally.Elapsed() - 300*time.Millisecond
		seen, others := map[int]bool{}, 0
		for _, req := range r.tally.Requests() {
			switch {
			case req.At < since:
			case req.Version == v:
				seen[req.Proxy] = true
			default:
				others++
			}
		}
		return len(seen) == Proxies && others == 0, fmt.Sprintf("%d proxies send %s, %d requests went elsewhere", len(seen), v, others)
	})
}

// promoted waits until revision rev is stable and the others have no pods.
func (r *run) promoted(rev int) {
	r.T.Helper()
	r.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: r.replicas(rev)}, 2*fixture.Wait)
}

// rolledBack waits until the newest version is rolled back and its pods
// are gone, and returns how long after the decision its weight reached 0
// in the routing object (pod ratio: its ReplicaSet's spec) and its last
// pod was gone.
func (r *run) rolledBack() (toZero, podsGone time.Duration) {
	r.T.Helper()
	ro := r.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: fixture.AnyStep, Replicas: r.replicas(r.version - 1)}, 2*fixture.Wait)
	if ro.Status.Abort == nil {
		r.T.Fatal("rolled back without status.abort")
	}
	decided := ro.Status.Abort.At.Time
	for _, w := range r.replicaSets.Writes("web-" + ro.Status.Abort.Revision) {
		if !w.Seen.After(decided) {
			continue
		}
		spec, _, _ := unstructured.NestedInt64(w.Object.Object, "spec", "replicas")
		pods, _, _ := unstructured.NestedInt64(w.Object.Object, "status", "replicas")
		if r.cell.Router == fixture.PodRatio && toZero == 0 && spec == 0 {
			toZero = w.Seen.Sub(decided)
		}
		if podsGone == 0 && pods == 0 {
			podsGone = w.Seen.Sub(decided)
		}
	}
	if r.cell.Router == fixture.BlueGreen {
		// The weight is 0 once the active Service selects another revision.
		for _, w := range r.routes.Writes("web") {
			selector, _, _ := unstructured.NestedStringMap(w.Object.Object, "spec", "selector")
			if w.Seen.After(decided) && selector[rampv1.LabelRevision] != ro.Status.Abort.Revision {
				toZero = w.Seen.Sub(decided)
				break
			}
		}
	} else if r.cell.Router != fixture.PodRatio {
		for _, w := range r.routes.Writes("") {
			if w.Seen.After(decided) && fixture.CanaryWeight(w.Object) == 0 {
				toZero = w.Seen.Sub(decided)
				break
			}
		}
	}
	// The stable revision is the one before; the next release goes on
	// from the rolled-back one.
	return toZero, podsGone
}

// replicas is the state with revision stable at 4 pods and every other
// at 0.
func (r *run) replicas(stable int) string {
	parts := make([]string, 0, r.version)
	for i := 1; i <= r.version; i++ {
		n := 0
		if i == stable {
			n = 4
		}
		parts = append(parts, fmt.Sprintf("%d:%d", i, n))
	}
	return strings.Join(parts, " ")
}
