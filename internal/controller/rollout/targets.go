package rollout

import (
	"time"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/strategy"
)

// planTargets decides where each revision's pod count should go in this
// pass's mode. Old revisions come first, so that they lose pods before the
// stable or canary revision does; the canary grows before the stable one.
func (r *Reconciler) planTargets(st *rolloutState) {
	n := st.budget.replicas
	st.scaleDownAt = map[string]time.Time{}
	var targets []scaleTarget
	for _, rev := range st.revs {
		if rev == st.stable || rev == st.canary {
			continue
		}
		targets = append(targets, r.retire(st, rev))
	}
	switch {
	case st.mode == modeCanary && st.held:
		// The preflight holds it: no pod until it can run (a blue/green
		// preview, or canaryScale Full, would have them at weight 0).
		targets = append(targets, scaleTarget{rev: st.canary, want: 0}, scaleTarget{rev: st.stable, want: n})
	case st.mode == modeCanary && st.plan.Promoting && st.statefulSet != nil:
		// Its canary replaces stable pods: none more while the stable side
		// has traffic (the promotion moves it to the canary's pods first).
		targets = append(targets, scaleTarget{rev: st.canary, hold: true}, scaleTarget{rev: st.stable, hold: true})
	case st.mode == modeCanary && st.plan.Promoting:
		targets = append(targets, scaleTarget{rev: st.canary, want: n}, scaleTarget{rev: st.stable, want: n})
	case st.mode == modeCanary:
		canary, stable := strategy.Pods(st.pods, st.weight, st.plan.Serving)
		want := scaleTarget{rev: st.canary, want: canary}
		if st.draining == st.canary.hash && canary < st.canary.replicas() {
			// Its weight or last route went to 0 while proxies may still
			// send it requests: it loses no pod until they have dropped it.
			want = scaleTarget{rev: st.canary, hold: true}
		}
		targets = append(targets, want, scaleTarget{rev: st.stable, want: stable})
	case st.mode == modeAborted && st.draining == st.canary.hash:
		// The canary's pods stay until every proxy has dropped them.
		targets = append(targets, scaleTarget{rev: st.canary, hold: true}, scaleTarget{rev: st.stable, want: n, now: true})
	case st.mode == modeAborted:
		// A rollback does not wait: the stable revision comes back to full
		// scale and the canary goes, in one write each.
		targets = append(targets, scaleTarget{rev: st.canary, want: 0, now: true}, scaleTarget{rev: st.stable, want: n, now: true})
	default:
		targets = append(targets, scaleTarget{rev: st.stable, want: n})
	}
	st.targets = targets
}

// retire plans an old revision's way to zero. A revision that was stable
// before the current one keeps its pods for scaleDownDelaySeconds after it
// was replaced, so clients and proxies can catch up; a canary that was
// dropped for a newer template goes at once.
func (r *Reconciler) retire(st *rolloutState, rev *revision) scaleTarget {
	if rev.hash == st.draining {
		return scaleTarget{rev: rev, hold: true} // until every proxy has dropped it
	}
	if rev.number > st.stable.number {
		return scaleTarget{rev: rev, want: 0, now: true}
	}
	if rev.replicas() == 0 {
		return scaleTarget{rev: rev, want: 0}
	}
	at, err := time.Parse(time.RFC3339, rev.rs.Annotations[rampv1.AnnotationScaleDownAt])
	if err != nil {
		delay := time.Duration(ptr.Deref(st.ro.Spec.Strategy.Canary.ScaleDownDelaySeconds, 30)) * time.Second
		// RFC 3339 keeps whole seconds: round up so the delay is never short.
		at = st.now.Add(delay).Truncate(time.Second).Add(time.Second)
		if delay == 0 {
			at = st.now
		}
		st.scaleDownAt[rev.hash] = at
	}
	if st.now.Before(at) {
		st.requeueAfter(at.Sub(st.now))
		return scaleTarget{rev: rev, hold: true}
	}
	return scaleTarget{rev: rev, want: 0}
}
