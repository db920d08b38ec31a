package rollout

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
)

// rev builds a revision with spec replicas and available pods.
func rev(replicas, available int32) *revision {
	return &revision{rs: &appsv1.ReplicaSet{
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, AvailableReplicas: available},
	}}
}

func TestPlanReplicas(t *testing.T) {
	b := budget{replicas: 4, maxSurge: 1, maxUnavailable: 0}
	tests := []struct {
		name    string
		budget  budget
		targets []scaleTarget
		want    []int32
	}{
		{
			name:    "canary grows within surge first",
			budget:  b,
			targets: []scaleTarget{{rev: rev(0, 0), want: 1}, {rev: rev(4, 4), want: 3}},
			want:    []int32{1, 4},
		},
		{
			name:    "stable shrinks once the canary pod is available",
			budget:  b,
			targets: []scaleTarget{{rev: rev(1, 1), want: 1}, {rev: rev(4, 4), want: 3}},
			want:    []int32{1, 3},
		},
		{
			name:    "stable keeps its pods while the canary is not available",
			budget:  b,
			targets: []scaleTarget{{rev: rev(1, 0), want: 1}, {rev: rev(4, 4), want: 3}},
			want:    []int32{1, 4},
		},
		{
			name:    "maxUnavailable lets the stable shrink before the canary is ready",
			budget:  budget{replicas: 4, maxSurge: 0, maxUnavailable: 1},
			targets: []scaleTarget{{rev: rev(0, 0), want: 2}, {rev: rev(4, 4), want: 2}},
			want:    []int32{0, 3},
		},
		{
			name:    "pods that are not available go first, at no cost",
			budget:  b,
			targets: []scaleTarget{{rev: rev(2, 0), want: 0}, {rev: rev(4, 4), want: 4}},
			want:    []int32{0, 4},
		},
		{
			name:    "rollback moves both at once",
			budget:  b,
			targets: []scaleTarget{{rev: rev(2, 2), want: 0, now: true}, {rev: rev(2, 2), want: 4, now: true}},
			want:    []int32{0, 4},
		},
		{
			name:    "a held revision keeps its pods and counts against the surge",
			budget:  b,
			targets: []scaleTarget{{rev: rev(2, 2), hold: true}, {rev: rev(2, 2), want: 4}},
			want:    []int32{2, 3},
		},
		{
			name:    "after the hold the old revision shrinks as availability allows",
			budget:  b,
			targets: []scaleTarget{{rev: rev(2, 2), want: 0}, {rev: rev(3, 3), want: 4}},
			want:    []int32{1, 3},
		},
		{
			name:    "lowering the weight: the stable grows within surge, the canary waits",
			budget:  b,
			targets: []scaleTarget{{rev: rev(2, 2), want: 1}, {rev: rev(2, 2), want: 3}},
			want:    []int32{2, 3},
		},
		{
			name:    "nothing to do",
			budget:  b,
			targets: []scaleTarget{{rev: rev(1, 1), want: 1}, {rev: rev(3, 3), want: 3}},
			want:    []int32{1, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planReplicas(tt.budget, tt.targets); !slices.Equal(got, tt.want) {
				t.Errorf("planReplicas = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlanReplicasConverges runs the plan against an ideal ReplicaSet
// controller (every pod becomes available at once) and checks that the
// budget holds at every pass and the targets are reached.
func TestPlanReplicasConverges(t *testing.T) {
	for _, bud := range []budget{{4, 1, 0}, {4, 0, 1}, {10, 3, 2}, {1, 1, 0}, {5, 2, 0}} {
		for canaryWant := int32(0); canaryWant <= bud.replicas; canaryWant++ {
			canary, stable := rev(0, 0), rev(bud.replicas, bud.replicas)
			for pass := 0; ; pass++ {
				if pass > 50 {
					t.Fatalf("budget %+v, canary %d: no convergence", bud, canaryWant)
				}
				next := planReplicas(bud, []scaleTarget{{rev: canary, want: canaryWant}, {rev: stable, want: bud.replicas - canaryWant}})
				if total := next[0] + next[1]; total > bud.replicas+bud.maxSurge {
					t.Fatalf("budget %+v: %d pods, over the surge", bud, total)
				}
				// Availability right after the write, before new pods start.
				if avail := min(next[0], canary.available()) + min(next[1], stable.available()); avail < bud.replicas-bud.maxUnavailable {
					t.Fatalf("budget %+v: %d available, under the minimum", bud, avail)
				}
				if next[0] == canary.replicas() && next[1] == stable.replicas() {
					if next[0] != canaryWant || next[1] != bud.replicas-canaryWant {
						t.Fatalf("budget %+v: stuck at %v, want %d/%d", bud, next, canaryWant, bud.replicas-canaryWant)
					}
					break
				}
				canary, stable = rev(next[0], next[0]), rev(next[1], next[1])
			}
		}
	}
}
