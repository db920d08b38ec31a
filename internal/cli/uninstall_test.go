package cli

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestUninstallPlan(t *testing.T) {
	dep := func(replicas int32, paused bool) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Paused: paused}}
		d.Status.AvailableReplicas = replicas
		return d
	}
	rollout := func(mode rampv1.WorkloadMode, finalizer bool, canary string) *rampv1.Rollout {
		ro := &rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: rampv1.RolloutSpec{Replicas: ptr.To[int32](3)}}
		if mode != "" {
			ro.Spec.WorkloadRef = &rampv1.WorkloadRef{Name: "web", Mode: mode}
		}
		if finalizer {
			ro.Finalizers = []string{rampv1.FinalizerCleanup}
		}
		ro.Status.Replicas, ro.Status.CanaryRevision = 3, canary
		if canary != "" && mode == rampv1.WorkloadInPlace {
			ro.Status.Workload = &rampv1.WorkloadStatus{Paused: true}
		}
		return ro
	}
	for _, tc := range []struct {
		name     string
		ro       *rampv1.Rollout
		dep      *appsv1.Deployment
		does     string
		warnings []string // substrings, one per warning
	}{
		{"own template", rollout("", true, ""), nil, "its 3 pods go with it", []string{"nothing serves the workload"}},
		{"adopted at rest", rollout(rampv1.WorkloadAdopt, true, ""), dep(0, false), "scaled from 0 back to 3", nil},
		{"adopted mid-canary", rollout(rampv1.WorkloadAdopt, true, "abc"), dep(0, false), "scaled from 0 back to 3", []string{"canary's template (revision abc)"}},
		{"adopted, not seen yet", rollout(rampv1.WorkloadAdopt, false, ""), dep(3, false), "scaled from 3 back to 3", []string{"no finalizer"}},
		{"adopted, Deployment gone", rollout(rampv1.WorkloadAdopt, true, ""), nil, "not found", []string{"nothing serves"}},
		{"in place at rest", rollout(rampv1.WorkloadInPlace, true, ""), dep(4, false), "Deployment web's 4 pods", nil},
		{"in place mid-canary", rollout(rampv1.WorkloadInPlace, true, "abc"), dep(4, true), "then the Deployment is unpaused", []string{"not promoted (revision abc)"}},
		{"in place, handing a promotion over", handingOver(rollout(rampv1.WorkloadInPlace, true, "")), dep(4, true), "then the Deployment is unpaused", nil},
		{"a StatefulSet at rest", statefulSet(rollout(rampv1.WorkloadInPlace, true, "")), nil, "then its partition goes to 0", nil},
		{"a StatefulSet mid-canary", statefulSet(rollout(rampv1.WorkloadInPlace, true, "abc")), nil, "every pod of StatefulSet web", []string{"not promoted (revision abc)"}},
		{"a StatefulSet promoted, partition held", statefulSet(handingOver(rollout(rampv1.WorkloadInPlace, true, ""))), nil, "then its partition goes to 0", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := uninstallPlan(tc.ro, tc.dep)
			if !strings.Contains(p.does, tc.does) {
				t.Errorf("does %q; want it to say %q", p.does, tc.does)
			}
			if len(p.warnings) != len(tc.warnings) {
				t.Fatalf("warnings %q; want %d", p.warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(p.warnings[i], w) {
					t.Errorf("warning %q; want it to say %q", p.warnings[i], w)
				}
			}
		})
	}
}

func handingOver(ro *rampv1.Rollout) *rampv1.Rollout {
	ro.Status.Workload = &rampv1.WorkloadStatus{Paused: true, PromotedAt: &metav1.MicroTime{}}
	return ro
}

func statefulSet(ro *rampv1.Rollout) *rampv1.Rollout {
	ro.Spec.WorkloadRef.Kind, ro.Spec.Service = rampv1.KindStatefulSet, "web"
	return ro
}
