package rollout

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// handleRequests acts on the control annotations whose token is new, once
// each, and records the tokens in status.handled. Retry and promotions are
// handled before an abort, so an abort made at the same time wins.
func (r *Reconciler) handleRequests(st *rolloutState) {
	s := &st.ro.Status
	if token, ok := newRequest(st.ro, rampv1.AnnotationRetry, &s.Handled.Retry); ok {
		if st.mode == modeAborted {
			startCanary(s, st.canary.hash, st.now)
			st.mode = modeCanary
			st.news.decided(corev1.EventTypeNormal, "Retry", "Retry",
				"Canary of revision %d starts again at step 1 (request %s)", st.canary.number, token)
		}
	}
	if token, ok := newRequest(st.ro, rampv1.AnnotationPromoteFull, &s.Handled.PromoteFull); ok {
		if st.mode == modeCanary {
			s.CurrentStepIndex = ptr.To(int32(len(st.steps())))
			endStep(s, st.now, rampv1.StepPromotedFull)
			st.news.decided(corev1.EventTypeNormal, "PromotedFull", "Promote",
				"Remaining steps skipped: revision %d is promoted (request %s)", st.canary.number, token)
		}
	}
	if token, ok := newRequest(st.ro, rampv1.AnnotationPromote, &s.Handled.Promote); ok {
		if st.mode == modeCanary && int(*s.CurrentStepIndex) < len(st.steps()) {
			r.nextStep(st, rampv1.StepPromoted, "promoted (request "+token+")")
		}
	}
	if token, ok := newRequest(st.ro, rampv1.AnnotationAbort, &s.Handled.Abort); ok {
		if st.mode == modeCanary {
			r.abort(st, "Aborted", "aborted by request "+token)
		}
	}
}

// newRequest returns the token of a control annotation when it has not been
// handled yet, and marks it handled.
func newRequest(ro *rampv1.Rollout, annotation string, handled *string) (string, bool) {
	token := ro.Annotations[annotation]
	if token == "" || token == *handled {
		return "", false
	}
	*handled = token
	return token, true
}
