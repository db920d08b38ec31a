package dashboard

import (
	"strconv"
	"strings"
	"time"

	eventsv1 "k8s.io/api/events/v1"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/request"
	"github.com/rampcd/ramp/internal/snapshot"
	"github.com/rampcd/ramp/internal/traffic/routers"
)

// The pages are drawn in the browser from these views, which the server
// sends as JSON, once and then on every change.

// Row is one Rollout on the list page.
type Row struct {
	Namespace string       `json:"namespace"`
	Name      string       `json:"name"`
	Phase     rampv1.Phase `json:"phase"`
	Message   string       `json:"message"`
	// Step is "2/4" while a canary is in flight.
	Step   string `json:"step"`
	Router string `json:"router"`
	// Weight is the canary's share of traffic reached, Asked the step's.
	Weight float64 `json:"weight"`
	Asked  float64 `json:"asked"`
	// Ready pods of all revisions, and all pods.
	Ready  int32 `json:"ready"`
	Pods   int32 `json:"pods"`
	Paused bool  `json:"paused"`
	// Workload is the Deployment the Rollout adopted or runs in place,
	// and how; empty with its own template.
	Workload string `json:"workload,omitempty"`
}

// List is the list page.
type List struct {
	Namespace string `json:"namespace"` // the filter; empty for all
	// Namespaces that hold Rollouts, for the filter.
	Namespaces []string `json:"namespaces"`
	Rollouts   []Row    `json:"rollouts"`
}

// Detail is one Rollout's page.
type Detail struct {
	Row
	Stable     *Revision           `json:"stable,omitempty"`
	Canary     *Revision           `json:"canary,omitempty"`
	Revisions  []Revision          `json:"revisions"`
	Abort      *rampv1.AbortStatus `json:"abort,omitempty"`
	Steps      []Step              `json:"steps"`
	WeightPlot []Point             `json:"weightPlot"`
	Analyses   []Analysis          `json:"analyses"`
	Hooks      []Hook              `json:"hooks"`
	Events     []Event             `json:"events"`
	// Requests are the buttons that make sense now; ReadOnly hides them all.
	Requests []request.Kind `json:"requests"`
	ReadOnly bool           `json:"readOnly"`
}

// Revision is a ReplicaSet of the Rollout.
type Revision struct {
	Number    int    `json:"number"`
	Hash      string `json:"hash"`
	Role      string `json:"role"` // stable, canary, or empty
	Images    string `json:"images"`
	Replicas  int32  `json:"replicas"`
	Ready     int32  `json:"ready"`
	Available int32  `json:"available"`
}

// Step is one step of the canary: done, running, skipped, or still to come.
type Step struct {
	Index     int32              `json:"index"`
	Summary   string             `json:"summary"`
	Weight    float64            `json:"weight"`
	State     string             `json:"state"` // done, running, skipped, pending
	StartedAt *time.Time         `json:"startedAt,omitempty"`
	EndedAt   *time.Time         `json:"endedAt,omitempty"`
	Outcome   rampv1.StepOutcome `json:"outcome,omitempty"`
}

// Point is the canary's weight from a time on.
type Point struct {
	At     time.Time `json:"at"`
	Weight float64   `json:"weight"`
}

// Analysis is one AnalysisRun of the canary.
type Analysis struct {
	Name    string               `json:"name"`
	Phase   rampv1.AnalysisPhase `json:"phase"`
	Message string               `json:"message"`
	Metrics []Metric             `json:"metrics"`
}

// Metric is one metric of a run with its measurements and the lines it
// must stay on the right side of.
type Metric struct {
	Name         string               `json:"name"`
	Phase        rampv1.AnalysisPhase `json:"phase"`
	Condition    string               `json:"condition"`
	Success      *analysis.Threshold  `json:"success,omitempty"`
	Failure      *analysis.Threshold  `json:"failure,omitempty"`
	Measurements []Measurement        `json:"measurements"`
}

// Measurement is one measurement; Value is absent when the result was not
// a single number.
type Measurement struct {
	At    time.Time            `json:"at"`
	Phase rampv1.AnalysisPhase `json:"phase"`
	Value *float64             `json:"value,omitempty"`
	Text  string               `json:"text"`
}

// Hook is one HookRun: a webhook or Job of a step or around the canary.
type Hook struct {
	Name     string           `json:"name"`
	Step     string           `json:"step"`
	Target   string           `json:"target"`
	Phase    rampv1.HookPhase `json:"phase"`
	Message  string           `json:"message"`
	Attempts int32            `json:"attempts"`
}

// Event is one event about the Rollout.
type Event struct {
	At     time.Time `json:"at"`
	Type   string    `json:"type"`
	Reason string    `json:"reason"`
	Note   string    `json:"note"`
	Count  int32     `json:"count"`
}

// shownEvents bounds the events a page lists, newest kept.
const shownEvents = 50

func rowOf(ro *rampv1.Rollout) Row {
	s := &ro.Status
	r := Row{
		Namespace: ro.Namespace, Name: ro.Name, Phase: s.Phase, Message: s.Message,
		Router: router(ro), Weight: s.Weight.Reached.Float(), Asked: s.Weight.Asked.Float(),
		Ready: s.ReadyReplicas, Pods: s.Replicas, Paused: ro.Spec.Paused, Workload: snapshot.Workload(ro),
	}
	if s.CanaryRevision != "" {
		r.Step = s.StepLabel
	}
	return r
}

// router names how traffic moves: the router, and the strategy when it
// is not a canary.
func router(ro *rampv1.Rollout) string {
	if ro.Spec.Strategy.BlueGreen != nil {
		return "blue/green, " + routers.For(ro).Name
	}
	return routers.For(ro).Name
}

func detailOf(snap *snapshot.Snapshot) *Detail {
	ro := snap.Rollout
	// Empty lists, not null: the page maps over them.
	d := &Detail{Row: rowOf(ro), Abort: ro.Status.Abort, Revisions: []Revision{}, Analyses: []Analysis{}, Hooks: []Hook{}, Events: []Event{}}
	for _, rs := range snap.Revisions() {
		rev := Revision{
			Number: snapshot.RevisionNumber(&rs), Hash: rs.Labels[rampv1.LabelRevision], Images: snapshot.Images(&rs),
			Ready: rs.Status.ReadyReplicas, Available: rs.Status.AvailableReplicas,
		}
		if rs.Spec.Replicas != nil {
			rev.Replicas = *rs.Spec.Replicas
		}
		switch rev.Hash {
		case ro.Status.StableRevision:
			rev.Role = "stable"
			d.Stable = &rev
		case ro.Status.CanaryRevision:
			rev.Role = "canary"
			d.Canary = &rev
		}
		d.Revisions = append(d.Revisions, rev)
	}
	d.Steps = steps(ro)
	d.WeightPlot = weightPlot(ro)
	for i := range snap.AnalysisRuns {
		d.Analyses = append(d.Analyses, analysisOf(&snap.AnalysisRuns[i]))
	}
	for _, run := range snap.HookRuns {
		d.Hooks = append(d.Hooks, Hook{
			Name: run.Name, Step: run.Spec.Context.Step, Target: run.Status.Target, Phase: run.Status.Phase,
			Message: run.Status.Message, Attempts: run.Status.AttemptCount,
		})
	}
	evs := snap.Events
	if len(evs) > shownEvents {
		evs = evs[len(evs)-shownEvents:]
	}
	for i := range evs {
		d.Events = append(d.Events, eventOf(&evs[i]))
	}
	d.Requests = requestsFor(ro)
	return d
}

// steps lays the spec's steps over the recorded history.
func steps(ro *rampv1.Rollout) []Step {
	spec := ro.Spec.Strategy.Effective().Steps
	out := make([]Step, len(spec))
	for i, st := range spec {
		out[i] = Step{Index: int32(i), Summary: st.Summary(), Weight: rampv1.WeightAt(spec, i).Float(), State: "pending"}
	}
	if len(ro.Status.StepHistory) == 0 {
		return out
	}
	last := int32(-1)
	for _, rec := range ro.Status.StepHistory {
		if int(rec.Index) >= len(out) {
			continue // the spec lost steps since
		}
		st := &out[rec.Index]
		st.StartedAt = ptrTime(rec.StartedAt.Time)
		st.State, st.Outcome = "running", rec.Outcome
		if rec.EndedAt != nil {
			st.EndedAt, st.State = ptrTime(rec.EndedAt.Time), "done"
		}
		last = rec.Index
	}
	// Steps after the last recorded one were skipped if the canary is
	// over (promoted in full, or rolled back); otherwise they are to come.
	over := ro.Status.CanaryRevision == "" || ro.Status.Abort != nil
	for i := last + 1; over && int(i) < len(out); i++ {
		out[i].State = "skipped"
	}
	return out
}

// weightPlot is the canary's weight over time as the recorded history
// tells it: 0 when the canary started, each setWeight step's weight from
// when the step ended (it ends once the weight is reached), then 0 at a
// rollback (an abort, or the template put back) or 100 at the promotion. The page adds the weights it sees live.
func weightPlot(ro *rampv1.Rollout) []Point {
	s := &ro.Status
	spec := ro.Spec.Strategy.Effective().Steps
	h := s.StepHistory
	pts := []Point{}
	if len(h) == 0 {
		return pts
	}
	pts = append(pts, Point{At: h[0].StartedAt.Time})
	for _, rec := range h {
		if rec.EndedAt != nil && int(rec.Index) < len(spec) && spec[rec.Index].SetWeight != nil {
			pts = append(pts, Point{At: rec.EndedAt.Time, Weight: spec[rec.Index].SetWeight.Float()})
		}
	}
	last := h[len(h)-1]
	switch {
	case s.Abort != nil:
		pts = append(pts, Point{At: s.Abort.At.Time, Weight: 0})
	case last.EndedAt == nil || s.CanaryRevision != "": // in flight
	case last.Outcome == rampv1.StepRolledBack: // the template was reverted
		pts = append(pts, Point{At: last.EndedAt.Time, Weight: 0})
	default: // promoted: the canary took all traffic
		pts = append(pts, Point{At: last.EndedAt.Time, Weight: 100})
	}
	return pts
}

func analysisOf(run *rampv1.AnalysisRun) Analysis {
	a := Analysis{Name: run.Name, Phase: run.Status.Phase, Message: run.Status.Message}
	args := map[string]string{}
	for _, arg := range run.Spec.Args {
		if arg.Value != nil {
			args[arg.Name] = *arg.Value
		}
	}
	results := map[string]*rampv1.MetricResult{}
	for i := range run.Status.MetricResults {
		results[run.Status.MetricResults[i].Name] = &run.Status.MetricResults[i]
	}
	for _, m := range run.Spec.Metrics {
		mv := Metric{Name: m.Name, Condition: conditionText(&m), Measurements: []Measurement{}}
		if t, ok := analysis.FindThreshold(m.SuccessCondition, args); ok {
			mv.Success = &t
		}
		if t, ok := analysis.FindThreshold(m.FailureCondition, args); ok {
			mv.Failure = &t
		}
		if res := results[m.Name]; res != nil {
			mv.Phase = res.Phase
			for _, ms := range res.Measurements {
				mv.Measurements = append(mv.Measurements, measurementOf(ms))
			}
		}
		a.Metrics = append(a.Metrics, mv)
	}
	return a
}

func conditionText(m *rampv1.Metric) string {
	switch {
	case m.SuccessCondition != "" && m.FailureCondition != "":
		return "passes if " + m.SuccessCondition + "; fails if " + m.FailureCondition
	case m.FailureCondition != "":
		return "fails if " + m.FailureCondition
	}
	return "passes if " + m.SuccessCondition
}

func measurementOf(ms rampv1.Measurement) Measurement {
	out := Measurement{At: ms.StartedAt.Time, Phase: ms.Phase, Text: ms.Value}
	if ms.FinishedAt != nil {
		out.At = ms.FinishedAt.Time
	}
	if out.Text == "" {
		out.Text = ms.Message
	}
	if v, err := strconv.ParseFloat(ms.Value, 64); err == nil {
		out.Value = &v
	} else if v, ok := firstOfVector(ms.Value); ok {
		out.Value = &v
	}
	return out
}

// firstOfVector reads a vector result as analysis.Format records it,
// "[0.02]" or "[0.02, 1]", as its first element.
func firstOfVector(s string) (float64, bool) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return 0, false
	}
	inner := s[1 : len(s)-1]
	first, _, _ := strings.Cut(inner, ",")
	v, err := strconv.ParseFloat(strings.TrimSpace(first), 64)
	return v, err == nil
}

func eventOf(ev *eventsv1.Event) Event {
	e := Event{At: snapshot.EventTime(ev), Type: ev.Type, Reason: ev.Reason, Note: ev.Note, Count: 1}
	if ev.Series != nil {
		e.Count = ev.Series.Count
	}
	return e
}

// requestsFor lists the requests that would do something now.
func requestsFor(ro *rampv1.Rollout) []request.Kind {
	s := &ro.Status
	var out []request.Kind
	switch {
	case s.CanaryRevision != "" && s.Abort != nil:
		out = append(out, request.Retry)
	case s.CanaryRevision != "":
		if s.CurrentStepIndex != nil && int(*s.CurrentStepIndex) < len(ro.Spec.Strategy.Effective().Steps) {
			out = append(out, request.Promote)
		}
		out = append(out, request.PromoteFull, request.Abort)
	}
	if ro.Spec.Paused {
		return append(out, request.Resume)
	}
	return append(out, request.Pause)
}

func ptrTime(t time.Time) *time.Time { return &t }
