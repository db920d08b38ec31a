package hooks

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// DefaultJobTimeout is a test Job's deadline when the hook gives none.
const DefaultJobTimeout = 30 * time.Minute

// NewJob builds the Job of a job hook: one container, never restarted,
// with the rollout's values in its environment as RAMP_<NAME>.
func NewJob(namespace, name string, h *rampv1.JobHook, v Values, labels map[string]string) *batchv1.Job {
	c := *h.Container.DeepCopy()
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if k != "CallbackURL" && k != "Phase" && k != "Message" {
			c.Env = append(c.Env, corev1.EnvVar{Name: "RAMP_" + envName(k), Value: v[k]})
		}
	}
	timeout := DefaultJobTimeout
	if h.Timeout != nil {
		timeout = h.Timeout.Duration
	}
	podLabels := maps.Clone(h.Labels)
	if podLabels == nil {
		podLabels = map[string]string{}
	}
	maps.Copy(podLabels, labels)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(ptr.Deref(h.BackoffLimit, 0)),
			ActiveDeadlineSeconds: ptr.To(int64(max(timeout.Seconds(), 1))),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: h.Annotations},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: h.ServiceAccountName,
					Containers:         []corev1.Container{c},
				},
			},
		},
	}
}

// JobVerdict reads a Job's outcome from its conditions: done is false
// while it runs.
func JobVerdict(job *batchv1.Job) (done, success bool, message string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, true, fmt.Sprintf("Job %s succeeded", job.Name)
		case batchv1.JobFailed:
			msg := fmt.Sprintf("Job %s failed", job.Name)
			if c.Reason != "" {
				msg += ": " + c.Reason
			}
			if c.Message != "" {
				msg += ": " + c.Message
			}
			return true, false, msg
		}
	}
	return false, false, ""
}

// envName turns CanaryRevision into CANARY_REVISION.
func envName(k string) string {
	var b strings.Builder
	for i, r := range k {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
