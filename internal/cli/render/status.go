package render

import (
	"fmt"
	"io"
	"strings"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/snapshot"
)

// shownEvents is how many of the latest events the tree lists.
const shownEvents = 5

// Status writes the tree of a rollout: its phase, revisions, traffic,
// steps, analyses, hooks and latest events.
func Status(w io.Writer, snap *snapshot.Snapshot, st Style) {
	ro := snap.Rollout
	s := &ro.Status
	p := &printer{w: w, st: st}

	p.line(0, "%s %s  %s  %s", st.paint(bold, "Rollout"), st.paint(bold, ro.Namespace+"/"+ro.Name),
		phaseText(st, s.Phase), st.paint(dim, "age "+st.age(ro.CreationTimestamp.Time)))
	if s.Message != "" {
		p.wrap(1, s.Message)
	}
	if a := s.Abort; a != nil {
		p.wrap(1, fmt.Sprintf("Rolled back (%s): %s", a.Reason, a.Message))
	}

	if w := snapshot.Workload(ro); w != "" {
		p.line(0, "Workload  %s", w)
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		p.line(0, "Blue/green  active Service %s, preview Service %s", bg.ActiveService, bg.PreviewServiceName())
	}

	p.line(0, "Revisions")
	for _, rs := range snap.Revisions() {
		role := ""
		switch rs.Labels[rampv1.LabelRevision] {
		case s.StableRevision:
			role = st.paint(green, "stable")
		case s.CanaryRevision:
			role = st.paint(yellow, "canary")
		}
		var want int32
		if rs.Spec.Replicas != nil {
			want = *rs.Spec.Replicas
		}
		if role == "" && want == 0 && rs.Status.Replicas == 0 {
			continue // history
		}
		p.line(1, "#%s  %s  %s  %d/%d ready  %s", orDash(rs.Annotations[rampv1.AnnotationRevisionNumber]),
			rs.Labels[rampv1.LabelRevision], pad(role, 6), rs.Status.ReadyReplicas, want, st.paint(dim, snapshot.Images(&rs)))
	}

	if s.CanaryRevision != "" {
		p.line(0, "Traffic  %s  canary %s%% asked, %s%% reached", p.bar(s.Weight.Reached), s.Weight.Asked, s.Weight.Reached)
	}

	p.line(0, "Steps")
	current := -1
	if s.CurrentStepIndex != nil && s.CanaryRevision != "" {
		current = int(*s.CurrentStepIndex)
	}
	for i, step := range ro.Spec.Strategy.Effective().Steps {
		mark, text := st.paint(dim, "·"), step.Summary()
		switch {
		case current < 0:
		case i < current:
			mark = st.paint(green, "✔")
		case i == current && s.Abort != nil:
			mark, text = st.paint(red, "✘"), st.paint(red, text)
		case i == current:
			mark, text = st.paint(blue, "▶"), st.paint(bold, text)
		}
		p.line(1, "%s %d %s", mark, i+1, text)
	}

	if len(snap.AnalysisRuns) > 0 {
		p.line(0, "Analysis")
		for _, run := range snap.AnalysisRuns {
			p.line(1, "%s  %s", run.Name, analysisPhase(st, run.Status.Phase))
			for _, m := range run.Status.MetricResults {
				latest := "no measurement yet"
				if n := len(m.Measurements); n > 0 {
					last := m.Measurements[n-1]
					latest = fmt.Sprintf("latest %s (%s)", orDash(last.Value), last.Phase)
				}
				p.line(2, "%s  %s  %s, %s", m.Name, condition(&run, m.Name), latest, plural(int(m.Count), "measurement", "measurements"))
			}
		}
	}

	if len(snap.HookRuns) > 0 {
		p.line(0, "Hooks")
		for _, run := range snap.HookRuns {
			p.line(1, "%s  %s  %s  %s", run.Name, hookPhase(st, run.Status.Phase), run.Status.Target,
				st.paint(dim, plural(int(run.Status.AttemptCount), "attempt", "attempts")))
			if run.Status.Message != "" {
				p.wrap(2, run.Status.Message)
			}
		}
	}

	if n := len(snap.Events); n > 0 {
		p.line(0, "Events")
		for _, ev := range snap.Events[max(0, n-shownEvents):] {
			reason := ev.Reason
			if ev.Type == "Warning" {
				reason = st.paint(red, reason)
			}
			p.line(1, "%s  %s  %s", pad(st.age(snapshot.EventTime(&ev)), 4), reason, ev.Note)
		}
	}
}

// printer writes indented lines cut to the width.
type printer struct {
	w  io.Writer
	st Style
}

func (p *printer) line(indent int, format string, args ...any) {
	text := strings.Repeat("  ", indent) + fmt.Sprintf(format, args...)
	fmt.Fprintln(p.w, fit(text, p.st.Width))
}

// wrap writes text, which matters too much to cut, over as many lines as
// it needs.
func (p *printer) wrap(indent int, text string) {
	room := p.st.Width - 2*indent
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len([]rune(line))+1+len([]rune(word)) > room {
			p.line(indent, "%s", line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		p.line(indent, "%s", line)
	}
}

// bar draws stable (░) against canary (█) traffic.
func (p *printer) bar(canary rampv1.Weight) string {
	n := min(max(p.st.Width-50, 10), 40)
	c := int(canary.Float()/100*float64(n) + 0.5)
	if canary > 0 && c == 0 {
		c = 1 // a sliver of traffic is still traffic
	}
	return p.st.paint(green, strings.Repeat("░", n-c)) + p.st.paint(yellow, strings.Repeat("█", c))
}

// condition shows what a metric must meet.
func condition(run *rampv1.AnalysisRun, metric string) string {
	for _, m := range run.Spec.Metrics {
		if m.Name != metric {
			continue
		}
		if m.FailureCondition != "" {
			return "fails if " + m.FailureCondition
		}
		return "passes if " + m.SuccessCondition
	}
	return ""
}

func phaseText(st Style, p rampv1.Phase) string {
	switch p {
	case rampv1.PhaseHealthy:
		return st.paint(green, string(p))
	case rampv1.PhaseDegraded:
		return st.paint(red, string(p))
	case rampv1.PhasePaused:
		return st.paint(yellow, string(p))
	}
	return st.paint(blue, orDash(string(p)))
}

func analysisPhase(st Style, p rampv1.AnalysisPhase) string {
	switch p {
	case rampv1.AnalysisSuccessful:
		return st.paint(green, string(p))
	case rampv1.AnalysisFailed, rampv1.AnalysisError:
		return st.paint(red, string(p))
	case rampv1.AnalysisInconclusive:
		return st.paint(yellow, string(p))
	}
	return orDash(string(p))
}

func hookPhase(st Style, p rampv1.HookPhase) string {
	switch p {
	case rampv1.HookSuccessful:
		return st.paint(green, string(p))
	case rampv1.HookFailed:
		return st.paint(red, string(p))
	}
	return orDash(string(p))
}
