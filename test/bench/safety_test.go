package bench

import (
	"testing"
	"time"

	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
	"github.com/rampcd/ramp/test/safety"
)

// The lags of the matrix: none, a second (proxies disagree for half a
// second), three seconds (for one more).
var lags = []dataplane.Lag{{}, {Base: time.Second, Jitter: 500 * time.Millisecond}, {Base: 3 * time.Second, Jitter: time.Second}}

// BenchmarkZeroFailedRequests runs the story of safety.Run (a promotion,
// an abort, a retry, a canary replaced in flight, a rollback by failed
// analysis, under 200 requests/s through three lagging proxies) for every
// router, and a blue/green Rollout with no mesh and through each mesh
// router, at every lag; Gateway API's mesh
// reports what it applied, and once more at 1 s without reports, as does
// Istio with them. Then the negative control: SMI, pod ratio and
// blue/green at 1 s with Ramp's delays at 0. It fails if a safe cell
// loses a request or the control loses none.
func BenchmarkZeroFailedRequests(b *testing.B) {
	var cells []safety.Cell
	for _, lag := range lags {
		for _, router := range append(fixture.Routers, fixture.BlueGreen) {
			cells = append(cells, safety.Cell{Router: router, Lag: lag, Report: router == fixture.GatewayAPI})
		}
		for _, router := range fixture.Meshes {
			cells = append(cells, safety.Cell{Router: router, BlueGreen: true, Lag: lag, Report: router == fixture.GatewayAPI})
		}
	}
	cells = append(cells,
		safety.Cell{Router: fixture.GatewayAPI, Lag: lags[1]},
		safety.Cell{Router: fixture.Istio, Lag: lags[1], Report: true},
		safety.Cell{Router: fixture.SMI, Lag: lags[1], Unsafe: true},
		safety.Cell{Router: fixture.PodRatio, Lag: lags[1], Unsafe: true},
		safety.Cell{Router: fixture.BlueGreen, Lag: lags[1], Unsafe: true},
	)
	var rows []SafetyCell
	for _, c := range cells {
		b.Run(slug(fixture.Router(c.String())), func(b *testing.B) {
			res := safety.Run(b, c)
			b.Log(res.Summary())
			switch {
			case c.Unsafe && res.Failed == 0:
				b.Errorf("the negative control lost no request: the proof above could not fail")
			case !c.Unsafe && res.Failed > 0:
				b.Errorf("%d of %d requests failed", res.Failed, res.Requests)
			}
			b.ReportMetric(float64(res.Failed), "failed")
			rows = append(rows, safetyRow(res))
		})
	}
	record(b, clustertest.Config(b), func(r *Report) { r.Safety = rows })
}

func safetyRow(res *safety.Result) SafetyCell {
	c := res.Cell
	row := SafetyCell{
		Router: c.Name(), LagMs: c.Lag.Base.Milliseconds(), JitterMs: c.Lag.Jitter.Milliseconds(),
		Reported: c.Report, DelaysOff: c.Unsafe, DelaySeconds: res.Delay.Seconds(),
		Requests: res.Requests, Failed: res.Failed, Injected: res.Injected, Rate: res.Rate,
		Scenarios: map[string]ScenarioCount{},
	}
	for _, o := range res.Outcomes {
		row.Scenarios[string(o.Scenario)] = ScenarioCount{Requests: o.Requests, Failed: o.Failed}
		switch o.Scenario {
		case safety.Abort:
			row.AbortToZeroMs, row.AbortPodsGoneMs = ms64(o.ToZero), ms64(o.PodsGone)
		case safety.Analysis:
			row.AnalysisPodsGoneMs = ms64(o.PodsGone)
		}
	}
	return row
}

func ms64(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
