// Package scenario is the demo's story, told by `make demo` and checked by
// its end-to-end test: demo-app v1 runs behind an SMI TrafficSplit with
// real requests flowing through the mesh stand-in; v2 goes through a
// canary of 5%, 25% and 50%, each step checked by the built-in "5xx ≤ 1%"
// analysis on a real Prometheus (and the same check in the background),
// and is promoted; v3 answers 5xx to 3% of its requests, fails its
// analysis and is rolled back.
package scenario

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/manifest"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/localcluster"
)

// App is the demo's Rollout and Service.
const App = "demo-app"

// DemoLag is the lag of the demo's proxies: each applies a change 1 to 1.5
// seconds after it is written.
var DemoLag = dataplane.Lag{Base: time.Second, Jitter: 500 * time.Millisecond}

// Options set where the story runs and how it is told. A controller must
// be running against the namespace.
type Options struct {
	Config     *rest.Config
	Kubeconfig string // for `ramp status`
	Namespace  string
	// Rate of the load generator, requests per second.
	Rate int
	// Window of the error-rate query (PromQL duration).
	Window string
	// Lag is when each of the mesh's three proxies applies a change of
	// routes or endpoints, as real proxies do.
	Lag dataplane.Lag
	// Out receives the story. Live: `ramp status -w` draws on Out (a
	// terminal) while each version rolls out; otherwise one line per
	// change, and the status tree when a version settles.
	Out  io.Writer
	Live bool
}

// Run tells the story and reports what happened.
func Run(ctx context.Context, opts Options) (*Report, error) {
	c, err := client.NewWithWatch(opts.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ramp-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	say(opts.Out, "Starting the data plane: a server on each pod's loopback IP, a mesh stand-in of three proxies that")
	say(opts.Out, "apply each change %s to %s late and never retry, Prometheus, the load generator.", opts.Lag.Base, opts.Lag.Max())
	targets := filepath.Join(dir, "pods.json")
	plane, err := dataplane.Start(ctx, opts.Config, opts.Namespace, dataplane.Options{
		TargetsFile: targets,
		Mesh:        dataplane.MeshOptions{Proxies: 3, RouteLag: opts.Lag, EndpointLag: opts.Lag},
	})
	if err != nil {
		return nil, err
	}
	defer plane.Close()
	prom, err := dataplane.StartPrometheus(ctx, dir, targets, plane.Mesh.MetricsAddr)
	if err != nil {
		return nil, err
	}
	defer func() { _ = prom.Stop() }()
	if err := applyTemplates(ctx, c); err != nil {
		return nil, err
	}
	s := &story{c: c, opts: opts, prom: prom.URL}
	if err := c.Create(ctx, s.service()); err != nil {
		return nil, err
	}
	if s.urls, err = plane.Mesh.URLs(App); err != nil {
		return nil, err
	}

	say(opts.Out, "\n== v1: the first version runs at once (4 pods), all traffic on it")
	if err := c.Create(ctx, s.rollout()); err != nil {
		return nil, err
	}
	if _, err := s.follow(ctx, nil, func(ro *rampv1.Rollout) bool { return ro.Status.Phase == rampv1.PhaseHealthy }); err != nil {
		return nil, err
	}
	// The proxies learn v1's pods a second late, as for any new Service:
	// the load starts once each of them can answer.
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := dataplane.WaitServing(waitCtx, s.urls); err != nil {
		return nil, err
	}
	report := &Report{}
	say(opts.Out, "\n== v2: a good version; canary 5%% → 25%% → 50%%, each step checked by \"5xx ≤ 1%%\" on Prometheus")
	if report.V2, err = s.release(ctx, "v2", "0"); err != nil {
		return nil, err
	}
	say(opts.Out, "\n== v3: answers 5xx to 3%% of its requests; its analysis fails and Ramp rolls it back")
	if report.V3, err = s.release(ctx, "v3", "0.03"); err != nil {
		return nil, err
	}
	return report, nil
}

// applyTemplates installs the built-in analysis templates, as a user would.
func applyTemplates(ctx context.Context, c client.Client) error {
	repo, err := localcluster.RepoDir()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(repo, "config/analysis/templates.yaml"))
	if err != nil {
		return err
	}
	for _, doc := range manifest.Documents(data) {
		if doc.Err != nil {
			return doc.Err
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(doc.Object), client.FieldOwner("ramp-demo"), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s: %w", doc.Object.GetName(), err)
		}
	}
	return nil
}

type story struct {
	c    client.WithWatch
	opts Options
	prom string   // Prometheus URL
	urls []string // demo-app through the mesh, one per proxy
}

func (s *story) service() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: App, Namespace: s.opts.Namespace},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": App},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
}

// rollout is demo-app v1, routed by SMI, with the canary's steps.
func (s *story) rollout() *rampv1.Rollout {
	labels := map[string]string{"app": App}
	check := rampv1.AnalysisStep{
		Templates: []rampv1.TemplateRef{{TemplateName: "success-rate-linkerd", ClusterScope: true}},
		Args: []rampv1.Argument{
			{Name: "prometheus", Value: ptr.To(s.prom)},
			{Name: "window", Value: ptr.To(s.opts.Window)},
		},
	}
	analysis := rampv1.Step{Analysis: &check}
	weight := func(p int64) rampv1.Step { return rampv1.Step{SetWeight: ptr.To(rampv1.Percent(p))} }
	return &rampv1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: App, Namespace: s.opts.Namespace},
		Spec: rampv1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Service:  App,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "demo-app:v1",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					Env:   []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: "v1"}},
				}}},
			},
			Strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{
				Steps:          []rampv1.Step{weight(5), analysis, weight(25), analysis, weight(50), analysis},
				TrafficRouting: &rampv1.TrafficRouting{SMI: &rampv1.SMIRouting{}},
				// A step's analysis measures once, when the step begins; the
				// same check in the background measures every 10 s through
				// the whole canary, so a bad version that slips past one
				// measurement is caught by the next.
				Analysis: &rampv1.BackgroundAnalysis{AnalysisStep: check},
				// The mesh's proxies are at most 1.5 s late: pods stay, and
				// weights wait, 3 s for them (the defaults, 30 s and 5 s,
				// are for real meshes).
				ScaleDownDelaySeconds:      ptr.To[int32](3),
				AbortScaleDownDelaySeconds: ptr.To[int32](3),
				EndpointPropagationSeconds: ptr.To[int32](3),
			}},
		},
	}
}

// release rolls out version, whose pods answer 5xx to errorRate of their
// requests, under load, until Ramp promotes it or rolls it back.
func (s *story) release(ctx context.Context, version, errorRate string) (Release, error) {
	r := Release{Version: version}
	loadCtx, cancelLoad := context.WithCancel(ctx)
	tallied := make(chan *dataplane.Tally, 1)
	go func() { tallied <- dataplane.Load(loadCtx, s.urls, s.opts.Rate, 0) }()
	// Stops the load once, here or on the way out, and gives its tally.
	stopLoad := sync.OnceValue(func() *dataplane.Tally { cancelLoad(); return <-tallied })
	defer stopLoad()

	ro := &rampv1.Rollout{}
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: App}, ro); err != nil {
		return r, err
	}
	oldStable := ro.Status.StableRevision
	ro.Spec.Template.Spec.Containers[0].Image = "demo-app:" + version
	ro.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: dataplane.EnvVersion, Value: version}, {Name: dataplane.EnvErrorRate, Value: errorRate},
	}
	if err := s.c.Update(ctx, ro); err != nil {
		return r, err
	}
	start := time.Now()
	steps := map[int32]time.Time{}
	// The load runs until the old pods are gone: promoted and Healthy,
	// or rolled back with the canary's pods gone.
	ro, err := s.follow(ctx, steps, func(ro *rampv1.Rollout) bool {
		promoted := ro.Status.Phase == rampv1.PhaseHealthy && ro.Status.CanaryRevision == "" && ro.Status.StableRevision != oldStable
		rolledBack := ro.Status.Phase == rampv1.PhaseDegraded && ro.Status.Weight.Reached.Float() == 0 && ro.Status.UpdatedReplicas == 0
		return promoted || rolledBack
	})
	if err != nil {
		return r, err
	}
	end := time.Now()
	tally := stopLoad()
	r.Took = end.Sub(start)
	r.Requests, r.Codes, r.Served = tally.Snapshot()
	failed, injected := tally.Failures()
	r.Failed, r.Injected = len(failed), injected
	r.Phase, r.Abort = ro.Status.Phase, ro.Status.Abort
	r.Steps = stepTimes(ro, steps, end)
	if r.Abort != nil {
		if err := s.failure(ctx, &r); err != nil {
			return r, err
		}
	}
	// How it ended, drawn once: a live view stops a moment after the end.
	s.status(ctx, false)
	r.print(s.opts.Out)
	return r, nil
}

// failure finds the measurement that failed the canary: the first failed
// one of its runs (a step's run and the background one may both fail).
func (s *story) failure(ctx context.Context, r *Release) error {
	var runs rampv1.AnalysisRunList
	if err := s.c.List(ctx, &runs, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{rampv1.LabelRevision: r.Abort.Revision}); err != nil {
		return err
	}
	for _, run := range runs.Items {
		for _, m := range run.Status.MetricResults {
			for _, ms := range m.Measurements {
				// The first failure is the one that rolled the canary back.
				if ms.Phase == rampv1.AnalysisFailed && ms.FinishedAt != nil && (r.FailedCheck == nil || ms.FinishedAt.Time.Before(r.FailedCheck.At)) {
					f := &Failure{Run: run.Name, Metric: m.Name, Value: ms.Value, At: ms.FinishedAt.Time}
					for _, def := range run.Spec.Metrics {
						if def.Name == m.Name {
							f.Condition = def.SuccessCondition
						}
					}
					for _, a := range run.Spec.Args { // the arguments the condition reads
						if a.Value != nil && strings.Contains(f.Condition, "args."+a.Name) {
							f.Condition += fmt.Sprintf(", %s = %s", a.Name, *a.Value)
						}
					}
					r.FailedCheck = f
				}
			}
		}
	}
	return nil
}

func say(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
