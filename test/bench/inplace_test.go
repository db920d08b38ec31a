package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/daemon"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// BenchmarkWorkloads times the shift and the rollback of a Deployment run
// in place beside a Rollout with its own template, in the same run, by
// one controller (Gateway API, ten replicas, the canary at full scale).
// Each round gives the workload a new version, times a promotion from 30%
// to the next weight seen, then an abort to the weight 0 seen. In place,
// the version goes into the Deployment, which the webhook pauses.
func BenchmarkWorkloads(b *testing.B) {
	n := count("RAMP_BENCH_TRANSITIONS", 100) / 2
	e := fixture.New(b)
	addr, err := daemon.FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	cfg := "ramp-admission-" + e.NS
	startController(b, e, "--admission-bind-address", addr, "--admission-namespace", e.NS,
		"--admission-names", "127.0.0.1", "--admission-configuration", cfg)
	e.InstallAdmission(cfg, addr)
	rec := e.Record(fixture.GatewayAPI.GVK())
	results := map[string]WorkloadLatency{}
	for _, mode := range []string{"template", "in place"} {
		name := map[string]string{"template": "own", "in place": "beside"}[mode]
		ro := e.Rollout(name, "app:v1", fixture.SetWeight(30), fixture.Pause(0), fixture.SetWeight(60), fixture.Pause(0))
		ro.Spec.Replicas = ptr.To[int32](replicas)
		ro.Spec.Strategy.Canary.CanaryScale = rampv1.CanaryScaleFull
		setVersion := func(v int) { e.SetImage(name, fmt.Sprintf("app:v%d", v)) }
		if mode == "in place" {
			e.Create(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS},
				Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](replicas), Selector: ro.Spec.Selector, Template: *ro.Spec.Template}})
			ro.Spec.Template, ro.Spec.Replicas = nil, nil
			ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: name, Mode: rampv1.WorkloadInPlace}
			setVersion = func(v int) { setDeploymentImage(b, e, name, fmt.Sprintf("app:v%d", v)) }
		}
		e.Route(ro, fixture.GatewayAPI)
		e.Create(ro)
		healthy(b, e, name)
		var shifts, rollbacks []time.Duration
		for v := 2; len(rollbacks) < n; v++ {
			setVersion(v)
			pausedAt(b, e, name, 1)
			start := time.Now()
			rv := e.Request(name, rampv1.AnnotationPromote)
			shifts = append(shifts, weightSeen(b, rec, fixture.GatewayAPI, name, rv, 60, replicas).Sub(start))
			pausedAt(b, e, name, 3)
			start = time.Now()
			rv = e.Request(name, rampv1.AnnotationAbort)
			rollbacks = append(rollbacks, weightSeen(b, rec, fixture.GatewayAPI, name, rv, 0, replicas).Sub(start))
			degraded(b, e, name)
		}
		l := WorkloadLatency{Shift: Summarise(shifts), Rollback: Summarise(rollbacks)}
		b.ReportMetric(l.Shift.P50Ms, name+"-shift-p50-ms")
		b.ReportMetric(l.Rollback.P50Ms, name+"-rollback-p50-ms")
		results[mode] = l
	}
	record(b, clustertest.Config(b), func(r *Report) { r.Workloads = results })
}

// setDeploymentImage gives the Deployment's first container image.
func setDeploymentImage(b *testing.B, e *fixture.Env, name, image string) {
	b.Helper()
	dep := &appsv1.Deployment{}
	if err := e.C.Get(context.Background(), client.ObjectKey{Namespace: e.NS, Name: name}, dep); err != nil {
		b.Fatal(err)
	}
	patch := client.MergeFrom(dep.DeepCopy())
	dep.Spec.Template.Spec.Containers[0].Image = image
	if err := e.C.Patch(context.Background(), dep, patch); err != nil {
		b.Fatal(err)
	}
	if !dep.Spec.Paused {
		b.Fatalf("Deployment %s not paused by the webhook in the write that changed its template", name)
	}
}

// degraded waits until the Rollout has recorded its rollback.
func degraded(b *testing.B, e *fixture.Env, name string) {
	b.Helper()
	clustertest.Eventually(b, fixture.Wait, name+" degraded", func(context.Context) (bool, string) {
		ro := e.Get(name)
		return ro.Status.Phase == rampv1.PhaseDegraded, string(ro.Status.Phase)
	})
}
