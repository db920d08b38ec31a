// Command demo is the README's main command (`make demo`): it brings up the
// local cluster, runs Ramp's controller on it, and takes a workload through
// two canaries while printing what happens: v2 promoted step by step, v3
// rolled back by Ramp because its pods never become ready.
//
// The full demo of the product (SMI traffic, Prometheus analysis, a load
// generator; issue #8) grows from this one as those parts land.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/manager"
	"github.com/rampcd/ramp/test/localcluster"
)

func main() {
	keep := flag.Bool("keep", false, "leave the cluster running at the end and print how to use it")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool) error {
	say("Bringing up the local cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok).")
	say("The first run builds these from their Go modules: about 15 minutes on 2 cores; then seconds.")
	bins, err := localcluster.EnsureBinaries(ctx, os.Stdout)
	if err != nil {
		return err
	}
	opts := localcluster.Options{Log: os.Stdout, Detach: keep}
	if keep {
		opts.Dir = "/tmp/ramp-demo"
		_ = os.RemoveAll(opts.Dir)
	}
	cluster, err := localcluster.Start(ctx, bins, opts)
	if err != nil {
		return err
	}
	if !keep {
		defer cluster.Stop()
	}

	say("Starting Ramp's controller against it.")
	ctrl.SetLogger(zap.New(zap.WriteTo(discard{})))
	mctx, stopController := context.WithCancel(ctx)
	defer stopController()
	go func() {
		if err := manager.Run(mctx, cluster.Config(), manager.Options{MetricsAddr: "0", ProbeAddr: "0", Concurrency: 2, CallbackAddr: "127.0.0.1:0"}); err != nil {
			fmt.Fprintln(os.Stderr, "controller:", err)
		}
	}()
	c, err := client.New(cluster.Config(), client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return err
	}
	d := &demo{c: c, start: time.Now()}

	say("\n== v1: the first version runs at once (4 replicas, pod-ratio traffic)")
	if err := c.Create(ctx, demoApp()); err != nil {
		return err
	}
	if _, err := d.watch(ctx, func(ro *rampv1.Rollout) bool { return ro.Status.Phase == rampv1.PhaseHealthy }); err != nil {
		return err
	}

	say("\n== v2: a good version, canary 25%% → pause 3s → 50%% → pause 3s → 75%% → promoted")
	if err := d.setImage(ctx, "demo-app:v2", false); err != nil {
		return err
	}
	v2Start := time.Now()
	if _, err := d.watch(ctx, func(ro *rampv1.Rollout) bool {
		return ro.Status.Phase == rampv1.PhaseHealthy && ro.Status.CanaryRevision == "" && ro.Status.Replicas == 4
	}); err != nil {
		return err
	}
	v2Took := time.Since(v2Start)

	say("\n== v3: a bad version whose pods never become ready; Ramp rolls it back at its 5s progress deadline")
	if err := d.setImage(ctx, "demo-app:v3", true); err != nil {
		return err
	}
	ro, err := d.watch(ctx, func(ro *rampv1.Rollout) bool {
		return ro.Status.Phase == rampv1.PhaseDegraded && ro.Status.UpdatedReplicas == 0
	})
	if err != nil {
		return err
	}

	say("\n== Summary")
	say("v2 promoted through 5 steps in %s.", v2Took.Round(100*time.Millisecond))
	say("v3 rolled back: %s (%s).", ro.Status.Abort.Reason, ro.Status.Abort.Message)
	say("Stable revision: %s, %d/%d pods available.", ro.Status.StableRevision, ro.Status.AvailableReplicas, ptr.Deref(ro.Spec.Replicas, 0))
	if keep {
		stopController()
		say("\nThe cluster keeps running:\n  export KUBECONFIG=%s\n  %s get rollouts,replicasets\n  go run ./cmd/ramp controller --kubeconfig %s\nStop it with: go run ./test/localcluster/cmd down --dir %s",
			cluster.KubeconfigPath, cluster.Kubectl, cluster.KubeconfigPath, cluster.Dir)
	}
	return nil
}

func demoApp() *rampv1.Rollout {
	labels := map[string]string{"app": "demo-app"}
	weight := func(p int64) rampv1.Step { return rampv1.Step{SetWeight: ptr.To(rampv1.Percent(p))} }
	pause := rampv1.Step{Pause: &rampv1.PauseStep{Duration: &metav1.Duration{Duration: 3 * time.Second}}}
	return &rampv1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-app", Namespace: "default"},
		Spec: rampv1.RolloutSpec{
			Replicas:                ptr.To[int32](4),
			Selector:                &metav1.LabelSelector{MatchLabels: labels},
			ProgressDeadlineSeconds: ptr.To[int32](5),
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "demo-app:v1"}}},
			},
			Strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{
				Steps:                 []rampv1.Step{weight(25), pause, weight(50), pause, weight(75)},
				ScaleDownDelaySeconds: ptr.To[int32](2),
			}},
		},
	}
}

type demo struct {
	c     client.Client
	start time.Time
}

func (d *demo) setImage(ctx context.Context, image string, neverReady bool) error {
	ro := &rampv1.Rollout{}
	if err := d.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "demo-app"}, ro); err != nil {
		return err
	}
	ro.Spec.Template.Spec.Containers[0].Image = image
	if neverReady {
		ro.Spec.Template.Labels[localcluster.HoldNotReadyLabel] = "true"
	}
	return d.c.Update(ctx, ro)
}

// watch prints a line each time the Rollout's picture changes, until done.
func (d *demo) watch(ctx context.Context, done func(*rampv1.Rollout) bool) (*rampv1.Rollout, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	last := ""
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ro := &rampv1.Rollout{}
		if err := d.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "demo-app"}, ro); err == nil {
			line := describe(ro)
			if line != last {
				say("%6.1fs  %s", time.Since(d.start).Seconds(), line)
				last = line
			}
			if ro.Status.ObservedGeneration == ro.Generation && done(ro) {
				return ro, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the rollout: %w (last: %s)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func describe(ro *rampv1.Rollout) string {
	s := ro.Status
	step := "-"
	if s.StepLabel != "" {
		step = s.StepLabel
	}
	bar := strings.Repeat("█", int(s.Weight.Reached.Float()/5)) + strings.Repeat("░", 20-int(s.Weight.Reached.Float()/5))
	return fmt.Sprintf("%-11s step %-4s canary %s %5s%%  pods %d/%d ready  %s",
		s.Phase, step, bar, s.Weight.Reached, s.ReadyReplicas, s.Replicas, s.Message)
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
