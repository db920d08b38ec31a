package rollout

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/internal/traffic/gatewayapi"
	"github.com/rampcd/ramp/internal/traffic/podratio"
)

// TestStatefulSetPods: a StatefulSet's canary pods replace stable ones;
// through a mesh one stable pod stays, by pod ratio the weight is the share.
func TestStatefulSetPods(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		mesh                 bool
		replicas             int32
		weight               rampv1.Weight
		wantCanary, wantStab int32
	}{
		{"mesh, half of three", true, 3, rampv1.Percent(50), 2, 1},
		{"mesh, all traffic keeps a stable pod", true, 3, rampv1.Percent(100), 2, 1},
		{"mesh, a little", true, 4, rampv1.Percent(5), 1, 3},
		{"pod ratio, half of four", false, 4, rampv1.Percent(50), 2, 2},
		{"pod ratio, all", false, 3, rampv1.Percent(100), 3, 0},
		{"no weight", true, 3, 0, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &rolloutState{mesh: tc.mesh, budget: budget{replicas: tc.replicas}, statefulSet: &statefulSet{}, router: podratio.Router{}}
			if tc.mesh {
				ro := &rampv1.Rollout{}
				ro.Spec.Strategy.Canary.TrafficRouting = &rampv1.TrafficRouting{GatewayAPI: &rampv1.GatewayAPIRouting{}}
				st.router = gatewayapi.New(traffic.Kube{}, ro)
			}
			canary, stable := st.pods(tc.weight)
			if canary != tc.wantCanary || stable != tc.wantStab {
				t.Errorf("pods(%s) = %d canary, %d stable; want %d, %d", tc.weight, canary, stable, tc.wantCanary, tc.wantStab)
			}
		})
	}
}

func TestOrdinal(t *testing.T) {
	for name, want := range map[string]int{"web-0": 0, "web-12": 12, "my-db-3": 3, "web": -1, "web-x": -1} {
		if got := ordinal(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}); got != want {
			t.Errorf("ordinal(%s) = %d; want %d", name, got, want)
		}
	}
}

func TestPartition(t *testing.T) {
	sts := func(replicas int32, ru *appsv1.RollingUpdateStatefulSetStrategy) *statefulSet {
		return &statefulSet{sts: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{RollingUpdate: ru}}}}
	}
	for _, tc := range []struct {
		name string
		set  *statefulSet
		want int32
	}{
		{"none", sts(3, nil), 0},
		{"set", sts(3, &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2)}), 2},
		{"above the replicas", sts(3, &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](7)}), 3},
	} {
		if got := tc.set.partition(); got != tc.want {
			t.Errorf("%s: partition %d; want %d", tc.name, got, tc.want)
		}
	}
}

// TestRestoreVictim: one pod at a time, unready ones first (lowest first),
// else the highest ordinal; never a stable pod or one at or above the
// partition; nothing while the last one is not back.
func TestRestoreVictim(t *testing.T) {
	pod := func(i int, rev string, ready bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("db-%d", i), Labels: map[string]string{appsv1.ControllerRevisionHashLabelKey: rev}}}
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
		return p
	}
	going := func(p *corev1.Pod) *corev1.Pod {
		p.DeletionTimestamp = &metav1.Time{}
		return p
	}
	for _, tc := range []struct {
		name      string
		pods      []*corev1.Pod
		partition int32
		want      string
		wait      bool
	}{
		{"highest first", []*corev1.Pod{pod(0, "a", true), pod(1, "b", true), pod(2, "b", true)}, 3, "db-2", false},
		{"nothing at or above the partition", []*corev1.Pod{pod(0, "a", true), pod(1, "b", true), pod(2, "b", true)}, 1, "", false},
		{"all stable", []*corev1.Pod{pod(0, "a", true), pod(1, "a", true), pod(2, "a", true)}, 3, "", false},
		{"an unready canary pod first, the lowest", []*corev1.Pod{pod(0, "a", true), pod(1, "b", false), pod(2, "b", false)}, 3, "db-1", false},
		{"the last one restored is not ready yet", []*corev1.Pod{pod(0, "a", true), pod(1, "b", true), pod(2, "a", false)}, 3, "db-1", true},
		{"one is going", []*corev1.Pod{pod(0, "a", true), pod(1, "b", true), going(pod(2, "b", true))}, 3, "db-1", true},
		{"one is missing", []*corev1.Pod{pod(0, "a", true), pod(1, "b", true)}, 3, "db-1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			victim, wait := restoreVictim(tc.pods, 3, tc.partition, "a")
			got := ""
			if victim != nil {
				got = victim.Name
			}
			if got != tc.want || wait != tc.wait {
				t.Errorf("restoreVictim = %q, wait %t; want %q, %t", got, wait, tc.want, tc.wait)
			}
		})
	}
}
