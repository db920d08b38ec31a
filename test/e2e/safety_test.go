package e2e

import (
	"testing"
	"time"

	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/safety"
)

// lagged is the lag of the short matrix: each proxy applies a change 1 to
// 1.5 seconds after it is written, so proxies disagree for half a second.
var lagged = dataplane.Lag{Base: time.Second, Jitter: 500 * time.Millisecond}

// TestNoFailedRequests takes a Rollout through a promotion, an abort, a
// retry, a canary replaced in flight and a rollback by failed analysis,
// with each router, under 200 requests/s sent through three proxies that
// apply every change a second or more late and never retry. Not one
// request may fail but those the bad version fails on purpose. Gateway
// API's mesh reports what its proxies applied, as implementations do. A
// blue/green Rollout switching its active Service, with kube-proxy's lag,
// goes through the same story, and one switching Istio's weight. (make
// bench runs every lag and every mesh; TestDelaysOffLoseRequests is the
// control.)
func TestNoFailedRequests(t *testing.T) {
	t.Parallel()
	var cells []safety.Cell
	for _, router := range append(fixture.Routers, fixture.BlueGreen) {
		cells = append(cells, safety.Cell{Router: router, Lag: lagged, Report: router == fixture.GatewayAPI})
	}
	cells = append(cells, safety.Cell{Router: fixture.Istio, BlueGreen: true, Lag: lagged})
	for _, cell := range cells {
		t.Run(cell.Name(), func(t *testing.T) {
			res := safety.Run(t, cell)
			t.Log(res.Summary())
			if res.Failed > 0 {
				t.Errorf("%d of %d requests failed", res.Failed, res.Requests)
			}
			// The story happened as told: the bad version was served
			// and failed on purpose, and the load kept its rate.
			if res.Injected == 0 || res.Rate < 180 {
				t.Errorf("%d requests failed on purpose, load at %.0f/s: the run proves little", res.Injected, res.Rate)
			}
		})
	}
}

// TestDelaysOffLoseRequests is the negative control of
// TestNoFailedRequests: the same proxies, and Ramp's delays at 0 (the
// app's preStop sleep too, for pod ratio). Requests must be lost, or the
// test above could not fail.
func TestDelaysOffLoseRequests(t *testing.T) {
	t.Parallel()
	for _, router := range []fixture.Router{fixture.SMI, fixture.PodRatio, fixture.BlueGreen} {
		t.Run(string(router), func(t *testing.T) {
			res := safety.Run(t, safety.Cell{Router: router, Lag: lagged, Unsafe: true,
				Scenarios: []safety.Scenario{safety.Promote, safety.Abort}})
			t.Log(res.Summary())
			if res.Failed == 0 {
				t.Errorf("no request of %d failed with Ramp's delays at 0: the data plane does not lag, or the load misses the moments that matter", res.Requests)
			}
		})
	}
}
