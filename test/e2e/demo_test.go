package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/rampcd/ramp/test/demo/scenario"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestDemoScenario runs the story of `make demo` and checks its outcome: v2 promoted through every step with
// no 5xx served, v3 rolled back by the failed "5xx ≤ 1%" analysis, its
// traffic back on v2.
func TestDemoScenario(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	e.StartController()
	var out bytes.Buffer
	rep, err := scenario.Run(context.Background(), scenario.Options{
		Config: clustertest.Config(t), Kubeconfig: clustertest.Kubeconfig(t), Namespace: e.NS,
		Rate: 200, Window: "30s", Lag: scenario.DemoLag, Out: &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	rep.Print(&out)
	t.Log(out.String())

	v2 := rep.V2
	if !v2.Promoted() || len(v2.Steps) != 6 {
		t.Errorf("v2: phase %s, %d steps timed, want promoted after 6", v2.Phase, len(v2.Steps))
	}
	if v2.Served["v2"] == 0 || v2.Served["v1"] == 0 || v2.Codes[500] != 0 || v2.Requests == 0 {
		t.Errorf("v2's canary: served %v, codes %v: want both versions serving and no 5xx", v2.Served, v2.Codes)
	}

	v3 := rep.V3
	if v3.Promoted() || v3.Abort == nil || v3.Abort.Reason != "AnalysisFailed" || v3.FailedCheck == nil {
		t.Fatalf("v3: phase %s, abort %+v, failure %+v: want rolled back by its analysis", v3.Phase, v3.Abort, v3.FailedCheck)
	}
	if rate, err := strconv.ParseFloat(v3.FailedCheck.Value, 64); err != nil || rate <= 0.01 {
		t.Errorf("the failing measurement is %q, not an error rate over 1%%", v3.FailedCheck.Value)
	}
	// Through proxies a second late, nothing failed but what v3 failed
	// on purpose.
	if v2.Failed+v3.Failed > 0 || v3.Injected == 0 {
		t.Errorf("failed requests: %d with v2, %d with v3 (and %d v3 failed on purpose); want none", v2.Failed, v3.Failed, v3.Injected)
	}
	// The controller acts on the failed run at once; seconds would mean it
	// waited for a resync.
	if d := v3.ToRollback(); d < 0 || d > 5*time.Second {
		t.Errorf("from the failed measurement to the rollback: %s", d)
	}
	if v3.Served["v3"] == 0 || v3.Codes[500] == 0 {
		t.Errorf("v3's canary: served %v, codes %v: want v3 serving some 5xx", v3.Served, v3.Codes)
	}
	split := e.GetObject(schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplit"}, scenario.App)
	backends, _, _ := unstructured.NestedSlice(split.Object, "spec", "backends")
	if b, _ := json.Marshal(backends); !strings.Contains(string(b), `"service":"demo-app-canary","weight":0`) {
		t.Errorf("after the rollback the TrafficSplit is %s", b)
	}
	for _, want := range []string{"v2 promoted in", "v3 rolled back: AnalysisFailed", "the measurement that failed it: error-rate = ", "== Summary",
		"failed requests: 0\n", "failed requests: 0, next to "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the story does not say %q", want)
		}
	}
}
