package analysis

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/outbound"
)

// FuzzConditions: any condition text either fails to compile with an error
// naming the metric, or judges any result without panicking, as a
// measurement's phase or an error.
func FuzzConditions(f *testing.F) {
	for _, c := range []string{"result <= 0.01", "result[0] > 2", "result > double(args.max)", "size(result) == 0",
		"result.all(x, x < 1)", "1/0 == 1", "result", "'a' + result", ")", ""} {
		f.Add(c, 0.005)
	}
	f.Fuzz(func(t *testing.T, cond string, value float64) {
		m := &rampv1.Metric{Name: "m", SuccessCondition: cond}
		c, err := Compile(m)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "metric m: ") {
				t.Fatalf("error %q does not name the metric", err)
			}
			return
		}
		for _, r := range []Result{value, []float64{value, 1}, map[string]any{"v": value}} {
			phase, _, err := c.Judge(r, map[string]string{"max": "0.01"})
			if err == nil && phase != rampv1.AnalysisSuccessful && phase != rampv1.AnalysisFailed && phase != rampv1.AnalysisInconclusive {
				t.Fatalf("Judge(%v) = phase %q", r, phase)
			}
		}
	})
}

// FuzzThreshold: "result <= limit" judges as Go compares, NaN being no data.
func FuzzThreshold(f *testing.F) {
	f.Add(0.01, 0.005)
	f.Add(0.01, 0.02)
	f.Add(-1.5, math.NaN())
	f.Add(1e300, 1e-300)
	f.Fuzz(func(t *testing.T, limit, value float64) {
		if math.IsInf(limit, 0) || math.IsNaN(limit) {
			return
		}
		m := &rampv1.Metric{Name: "m", SuccessCondition: "result <= " + strconv.FormatFloat(limit, 'g', -1, 64)}
		c, err := Compile(m)
		if err != nil {
			t.Fatalf("%s: %v", m.SuccessCondition, err)
		}
		phase, _, err := c.Judge(value, nil)
		want := rampv1.AnalysisFailed
		switch {
		case math.IsNaN(value):
			want = rampv1.AnalysisInconclusive
		case value <= limit:
			want = rampv1.AnalysisSuccessful
		}
		if err != nil || phase != want {
			t.Fatalf("%s with result %v: %s, %v; want %s", m.SuccessCondition, value, phase, err, want)
		}
	})
}

// FuzzRender: a value, whatever it holds, stays inside the PromQL string or
// URL query it is rendered into, and reads back as itself.
func FuzzRender(f *testing.F) {
	for _, v := range []string{"shop", `a"b`, `a\`, "line\nbreak", "} or vector(1) {", "{{.Namespace}}", "é&x=1#", "\x00\r\t"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return
		}
		vars := Vars{Namespace: v, Args: map[string]string{"v": v}}
		q, err := Render("q", `up{namespace="{{.Namespace}}", job="{{.Args.v}}"}`, vars, PromQLEscape)
		if err != nil {
			t.Fatal(err)
		}
		var ns, job string
		if _, err := fmt.Sscanf(q, "up{namespace=%q, job=%q}", &ns, &job); err != nil || ns != v || job != v {
			t.Fatalf("%q rendered as %s: read back %q, %q, %v", v, q, ns, job, err)
		}
		u, err := Render("u", `http://127.0.0.1/q?ns={{.Namespace}}&job={{.Args.v}}`, vars, outbound.URLEscape)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatalf("%q rendered as %s: %v", v, u, err)
		}
		if q := parsed.Query(); q.Get("ns") != v || q.Get("job") != v || len(q) != 2 {
			t.Fatalf("%q rendered as %s: query %v", v, u, q)
		}
	})
}
