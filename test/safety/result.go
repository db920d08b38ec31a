package safety

import (
	"fmt"
	"strings"
	"time"

	"github.com/rampcd/ramp/test/dataplane"
)

// Result is what the load of one cell saw.
type Result struct {
	Cell Cell
	// Delay is the value of Ramp's delays in the cell.
	Delay time.Duration
	// Outcomes are the scenarios', in order.
	Outcomes []Outcome
	// Requests sent, failed (other than on purpose), and failed on
	// purpose by a bad version, over the whole run.
	Requests, Failed, Injected int
	// Rate is the load achieved, requests per second.
	Rate float64
	// Failures are the first failed requests, for the log.
	Failures []dataplane.Request
}

// Outcome is one scenario's part of the load.
type Outcome struct {
	Scenario Scenario
	// From and To bound the scenario on the load's clock.
	From, To                   time.Duration
	Requests, Failed, Injected int
	// ToZero and PodsGone, for a rollback: from the decision to the
	// canary's weight 0 in the routing object, and to its last pod gone.
	ToZero, PodsGone time.Duration
}

// count sorts the load's requests into the scenarios.
func (r *Result) count(t *dataplane.Tally) {
	reqs := t.Requests()
	elapsed := t.Elapsed()
	r.Requests = len(reqs)
	if elapsed > 0 {
		r.Rate = float64(len(reqs)) / elapsed.Seconds()
	}
	for _, req := range reqs {
		o := r.outcome(req.At)
		if o != nil {
			o.Requests++
		}
		switch {
		case req.Failed():
			r.Failed++
			if o != nil {
				o.Failed++
			}
			if len(r.Failures) < 10 {
				r.Failures = append(r.Failures, req)
			}
		case req.Injected:
			r.Injected++
			if o != nil {
				o.Injected++
			}
		}
	}
}

// outcome is the scenario a request sent at at belongs to: the last that
// began by then.
func (r *Result) outcome(at time.Duration) *Outcome {
	var found *Outcome
	for i := range r.Outcomes {
		if r.Outcomes[i].From <= at {
			found = &r.Outcomes[i]
		}
	}
	return found
}

// Summary is one line per scenario, and the failures seen.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (delays %s): %d requests at %.0f/s, %d failed, %d failed on purpose\n",
		r.Cell, r.Delay, r.Requests, r.Rate, r.Failed, r.Injected)
	for _, o := range r.Outcomes {
		fmt.Fprintf(&b, "  %-20s %6d requests %4d failed %5d on purpose", o.Scenario, o.Requests, o.Failed, o.Injected)
		if o.PodsGone > 0 {
			fmt.Fprintf(&b, "  weight 0 after %s, pods gone after %s", o.ToZero.Round(100*time.Microsecond), o.PodsGone.Round(100*time.Millisecond))
		}
		b.WriteString("\n")
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "  failed at %s via proxy %d: code %d %s\n", f.At.Round(time.Millisecond), f.Proxy, f.Code, f.Err)
	}
	return b.String()
}
