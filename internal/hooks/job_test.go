package hooks

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestNewJob(t *testing.T) {
	h := &rampv1.JobHook{
		Container: corev1.Container{Name: "smoke", Image: "tests:v1", Env: []corev1.EnvVar{{Name: "MODE", Value: "quick"}}},
		Labels:    map[string]string{"team": "shop"},
		Timeout:   &metav1.Duration{Duration: 5 * time.Minute},
	}
	v := Values{"CanaryRevision": "abc", "Rollout": "web", "CallbackURL": "http://x"}
	job := NewJob("shop", "web-abc-1-step-2", h, v, map[string]string{"ramp.dev/rollout": "web"})
	c := job.Spec.Template.Spec.Containers[0]
	want := []corev1.EnvVar{{Name: "MODE", Value: "quick"}, {Name: "RAMP_CANARY_REVISION", Value: "abc"}, {Name: "RAMP_ROLLOUT", Value: "web"}}
	if len(c.Env) != len(want) {
		t.Fatalf("env %v, want %v", c.Env, want)
	}
	for i := range want {
		if c.Env[i] != want[i] {
			t.Errorf("env[%d] = %v, want %v", i, c.Env[i], want[i])
		}
	}
	if *job.Spec.BackoffLimit != 0 || *job.Spec.ActiveDeadlineSeconds != 300 || job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("job spec %+v", job.Spec)
	}
	if l := job.Spec.Template.Labels; l["team"] != "shop" || l["ramp.dev/rollout"] != "web" {
		t.Errorf("pod labels %v", l)
	}
	if len(h.Container.Env) != 1 {
		t.Error("NewJob changed the hook")
	}
}

func TestJobVerdict(t *testing.T) {
	cond := func(typ batchv1.JobConditionType, status corev1.ConditionStatus, reason string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: status, Reason: reason, Message: "m"}
	}
	tests := []struct {
		name          string
		conds         []batchv1.JobCondition
		done, success bool
		msg           string
	}{
		{"running", nil, false, false, ""},
		{"complete", []batchv1.JobCondition{cond(batchv1.JobComplete, corev1.ConditionTrue, "")}, true, true, "Job j succeeded"},
		{"failed", []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue, "x"), cond(batchv1.JobFailed, corev1.ConditionTrue, "BackoffLimitExceeded")},
			true, false, "Job j failed: BackoffLimitExceeded: m"},
		{"not yet", []batchv1.JobCondition{cond(batchv1.JobFailed, corev1.ConditionFalse, "")}, false, false, ""},
	}
	for _, tt := range tests {
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Status: batchv1.JobStatus{Conditions: tt.conds}}
		done, success, msg := JobVerdict(job)
		if done != tt.done || success != tt.success || msg != tt.msg {
			t.Errorf("%s: %v %v %q", tt.name, done, success, msg)
		}
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"Rollout": "ROLLOUT", "CanaryRevision": "CANARY_REVISION", "Step": "STEP"} {
		if got := envName(in); got != want {
			t.Errorf("envName(%s) = %s", in, got)
		}
	}
}
