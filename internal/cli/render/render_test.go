package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli/render -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; got:\n%s\nwant:\n%s", name, got, want)
	}
}

func replicaSet(number, hash, image string, want, ready int32) appsv1.ReplicaSet {
	return appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Labels: map[string]string{rampv1.LabelRevision: hash},
			Annotations: map[string]string{rampv1.AnnotationRevisionNumber: number}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(want), Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}}}},
		Status: appsv1.ReplicaSetStatus{Replicas: want, ReadyReplicas: ready},
	}
}

// canary is web in the middle of a canary: step 3 of 4, an analysis
// running, a webhook passed, a few events.
func canary() *snapshot.Snapshot {
	ro := &rampv1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", CreationTimestamp: ago(72 * time.Hour)},
		Spec: rampv1.RolloutSpec{Strategy: rampv1.Strategy{Canary: rampv1.CanaryStrategy{Steps: []rampv1.Step{
			{SetWeight: ptr.To(rampv1.Percent(25))},
			{Webhook: &rampv1.WebhookHook{URL: "https://ci.example/run?token=x"}},
			{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: "success-rate-linkerd"}}}},
			{SetWeight: ptr.To(rampv1.Percent(50))},
		}}}},
		Status: rampv1.RolloutStatus{
			Phase: rampv1.PhaseProgressing, Message: "step 3/4 waits for AnalysisRun web-6ff4cd9669-1-step-2 (Running, 2 measurements)",
			StableRevision: "84c5f745db", CanaryRevision: "6ff4cd9669", CurrentStepIndex: ptr.To[int32](2), StepLabel: "3/4",
			Weight: rampv1.WeightStatus{Asked: rampv1.Percent(25), Reached: rampv1.Percent(25)},
		},
	}
	return &snapshot.Snapshot{
		Rollout: ro,
		ReplicaSets: []appsv1.ReplicaSet{
			replicaSet("1", "5d8c7f9b4a", "web:v1", 0, 0),
			replicaSet("2", "84c5f745db", "web:v2", 4, 4),
			replicaSet("3", "6ff4cd9669", "web:v3", 4, 3),
		},
		AnalysisRuns: []rampv1.AnalysisRun{{
			ObjectMeta: metav1.ObjectMeta{Name: "web-6ff4cd9669-1-step-2"},
			Spec:       rampv1.AnalysisRunSpec{Metrics: []rampv1.Metric{{Name: "error-rate", SuccessCondition: "result <= 0.01"}}},
			Status: rampv1.AnalysisRunStatus{Phase: rampv1.AnalysisRunning, MetricResults: []rampv1.MetricResult{{
				Name: "error-rate", Phase: rampv1.AnalysisRunning, Count: 2, Successful: 2,
				Measurements: []rampv1.Measurement{{Phase: rampv1.AnalysisSuccessful, Value: "0.002"}},
			}}},
		}},
		HookRuns: []rampv1.HookRun{{
			ObjectMeta: metav1.ObjectMeta{Name: "web-6ff4cd9669-1-step-1"},
			Status: rampv1.HookRunStatus{Phase: rampv1.HookSuccessful, Target: "POST https://ci.example/run",
				Message: "callback: success: 40 tests passed", AttemptCount: 1},
		}},
		Events: []eventsv1.Event{
			{Reason: "CanaryStarted", Type: "Normal", Note: "Canary of revision 3 (6ff4cd9669) starts; stable is revision 2", EventTime: metav1.NewMicroTime(now.Add(-3 * time.Minute))},
			{Reason: "StepCompleted", Type: "Normal", Note: "Step 1/4 (setWeight 25%) done", EventTime: metav1.NewMicroTime(now.Add(-2 * time.Minute))},
			{Reason: "StepCompleted", Type: "Normal", Note: "Step 2/4 (webhook POST https://ci.example/run) done", EventTime: metav1.NewMicroTime(now.Add(-40 * time.Second))},
		},
	}
}

// rolledBack is web after its canary failed analysis.
func rolledBack() *snapshot.Snapshot {
	snap := canary()
	s := &snap.Rollout.Status
	s.Phase, s.Message = rampv1.PhaseDegraded, "revision 3 rolled back"
	s.Weight = rampv1.WeightStatus{}
	s.Abort = &rampv1.AbortStatus{Revision: "6ff4cd9669", Reason: "AnalysisFailed",
		Message: "AnalysisRun web-6ff4cd9669-1-step-2 failed: metric error-rate: 1 failed measurements, more than the failureLimit of 0; last: Failed with 0.0598"}
	snap.ReplicaSets[2].Spec.Replicas, snap.ReplicaSets[2].Status = ptr.To[int32](0), appsv1.ReplicaSetStatus{}
	snap.AnalysisRuns[0].Status.Phase = rampv1.AnalysisFailed
	snap.Events = append(snap.Events, eventsv1.Event{Reason: "AnalysisFailed", Type: "Warning",
		Note: "Canary of revision 3 rolled back: AnalysisRun web-6ff4cd9669-1-step-2 failed", EventTime: metav1.NewMicroTime(now.Add(-5 * time.Second))})
	return snap
}

// blueGreen is web's v3 behind its preview Service, waiting for a person
// after its prePromotion check passed.
func blueGreen() *snapshot.Snapshot {
	snap := canary()
	ro := snap.Rollout
	ro.Spec.Strategy = rampv1.Strategy{BlueGreen: &rampv1.BlueGreenStrategy{
		ActiveService: "web",
		PrePromotion:  []rampv1.Step{{Webhook: &rampv1.WebhookHook{URL: "https://ci.example/run?token=x"}}},
	}}
	s := &ro.Status
	s.Phase, s.Message = rampv1.PhasePaused, "step 2/3 waits for promotion (pause step)"
	s.CurrentStepIndex, s.StepLabel, s.Weight = ptr.To[int32](1), "2/3", rampv1.WeightStatus{}
	snap.AnalysisRuns = nil
	snap.Events = snap.Events[:1]
	return snap
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name  string
		snap  *snapshot.Snapshot
		style Style
	}{
		{"canary.golden", canary(), Style{Width: 100, Now: now}},
		{"canary-narrow.golden", canary(), Style{Width: 60, Now: now}},
		{"canary-color.golden", canary(), Style{Width: 100, Color: true, Now: now}},
		{"canary-narrow-color.golden", canary(), Style{Width: 60, Color: true, Now: now}},
		{"rolled-back.golden", rolledBack(), Style{Width: 100, Now: now}},
		{"blue-green.golden", blueGreen(), Style{Width: 100, Now: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			Status(&b, tt.snap, tt.style)
			golden(t, tt.name, b.Bytes())
		})
	}
}

func TestTable(t *testing.T) {
	healthy := rampv1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", CreationTimestamp: ago(26 * time.Hour)},
		Status: rampv1.RolloutStatus{Phase: rampv1.PhaseHealthy, StableRevision: "7c9d8e6f5a"}}
	rollouts := []rampv1.Rollout{healthy, *canary().Rollout}
	for _, tt := range []struct {
		name string
		all  bool
	}{{"table.golden", false}, {"table-all-namespaces.golden", true}} {
		var b bytes.Buffer
		if err := Table(&b, rollouts, tt.all, Style{Width: 120, Now: now}); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.name, b.Bytes())
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer line", 8, "a longe…"},
		{"\x1b[32mgreen\x1b[0m and more", 8, "\x1b[32mgreen\x1b[0m a…\x1b[0m"},
		{"\x1b[32mgreen\x1b[0m", 5, "\x1b[32mgreen\x1b[0m"},
		{"ünïcödé text", 6, "ünïcö…"},
	}
	for _, tt := range tests {
		if got := fit(tt.in, tt.n); got != tt.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
