package scenario

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Report is what happened to each version.
type Report struct {
	V2, V3 Release
}

// Release is one version's rollout.
type Release struct {
	Version string
	// Phase it ended in: Healthy (promoted) or Degraded (rolled back).
	Phase rampv1.Phase
	Took  time.Duration
	Steps []StepTime
	// Requests sent while it rolled out; Codes and Served count them by
	// status code and by the version that answered.
	Requests int
	Codes    map[int]int
	Served   map[string]int
	// Failed counts the requests that failed other than on purpose (no
	// answer, or an error the mesh or a missing pod gave), and Injected
	// those a bad version failed on purpose.
	Failed, Injected int
	// Abort and Failed say why it was rolled back.
	Abort       *rampv1.AbortStatus
	FailedCheck *Failure
}

// StepTime is how long one canary step took.
type StepTime struct {
	Index   int32
	Summary string
	Took    time.Duration
}

// Failure is the measurement that failed a canary.
type Failure struct {
	Run, Metric, Value, Condition string
	At                            time.Time
}

// Promoted reports whether the version became the stable one.
func (r Release) Promoted() bool { return r.Phase == rampv1.PhaseHealthy && r.Abort == nil }

// ToRollback is the time from the failed measurement to the rollback.
func (r Release) ToRollback() time.Duration {
	if r.FailedCheck == nil || r.Abort == nil {
		return 0
	}
	return r.Abort.At.Sub(r.FailedCheck.At)
}

// stepTimes turns the steps' start times into durations; the last step
// ends at end. A step never seen was begun and passed within one status
// write (a weight the pods already carry): it took no time, and began when
// the next seen one did.
func stepTimes(ro *rampv1.Rollout, starts map[int32]time.Time, end time.Time) []StepTime {
	steps := ro.Spec.Strategy.Canary.Steps
	begun := make([]time.Time, len(steps)+1)
	begun[len(steps)] = end
	for i := len(steps) - 1; i >= 0; i-- {
		begun[i] = begun[i+1]
		if t, ok := starts[int32(i)]; ok && t.Before(begun[i]) {
			begun[i] = t
		}
	}
	out := make([]StepTime, len(steps))
	for i := range steps {
		out[i] = StepTime{Index: int32(i), Summary: steps[i].Summary(), Took: begun[i+1].Sub(begun[i])}
	}
	if ro.Status.Abort != nil && ro.Status.CurrentStepIndex != nil {
		out = out[:min(len(out), int(*ro.Status.CurrentStepIndex)+1)] // the steps after the failed one never ran
	}
	return out
}

// print tells how a release ended.
func (r Release) print(w io.Writer) {
	if r.Promoted() {
		say(w, "%s promoted in %s.", r.Version, r.Took.Round(100*time.Millisecond))
	} else if r.Abort != nil {
		say(w, "%s rolled back: %s: %s", r.Version, r.Abort.Reason, r.Abort.Message)
		if f := r.FailedCheck; f != nil {
			say(w, "  the measurement that failed it: %s = %s, condition %s (analysisrun %s)", f.Metric, f.Value, f.Condition, f.Run)
			say(w, "  from that measurement to the rollback: %s", r.ToRollback().Round(time.Millisecond))
		}
	}
}

// Print is the demo's summary.
func (rep *Report) Print(w io.Writer) {
	say(w, "\n== Summary")
	for _, r := range []Release{rep.V2, rep.V3} {
		outcome := "promoted"
		if !r.Promoted() {
			outcome = "rolled back"
		}
		say(w, "%s: %s after %s", r.Version, outcome, r.Took.Round(100*time.Millisecond))
		for _, s := range r.Steps {
			say(w, "  step %d  %-40s %8s", s.Index+1, s.Summary, s.Took.Round(100*time.Millisecond))
		}
		if f := r.FailedCheck; f != nil {
			say(w, "  analysis failed (%s = %s, wanted %s); rolled back %s later",
				f.Metric, f.Value, f.Condition, r.ToRollback().Round(time.Millisecond))
		}
		say(w, "  requests: %d sent, answered by %s; %s", r.Requests, served(r.Served), codes(r.Codes))
		onPurpose := ""
		if r.Injected > 0 {
			onPurpose = fmt.Sprintf(", next to %d that %s failed on purpose", r.Injected, r.Version)
		}
		say(w, "  failed requests: %d%s", r.Failed, onPurpose)
	}
}

func served(m map[string]int) string {
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", v, m[v]))
	}
	return strings.Join(parts, ", ")
}

func codes(m map[int]int) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%d", m[c], c))
	}
	return "status " + strings.Join(parts, ", ")
}
