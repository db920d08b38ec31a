package rollout

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// beginStep records that step i began at now. It rides on the status
// write that moves currentStepIndex, so the timeline costs no extra write.
func beginStep(s *rampv1.RolloutStatus, i int32, now time.Time) {
	if len(s.StepHistory) >= 64 { // the CRD's bound; steps are at most 64
		return
	}
	s.StepHistory = append(s.StepHistory, rampv1.StepRecord{Index: i, StartedAt: metav1.NewMicroTime(now)})
}

// endStep closes the running step's record, if one is open.
func endStep(s *rampv1.RolloutStatus, now time.Time, outcome rampv1.StepOutcome) {
	if n := len(s.StepHistory); n > 0 && s.StepHistory[n-1].EndedAt == nil {
		s.StepHistory[n-1].EndedAt = ptr.To(metav1.NewMicroTime(now))
		s.StepHistory[n-1].Outcome = outcome
	}
}
