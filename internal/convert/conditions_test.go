package convert

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
)

// Samples of results, shaped as Argo's providers and Ramp's give them: a
// scalar is a float64, a Prometheus vector a []float64, a web metric's
// value JSON.
var (
	scalars = []analysis.Result{0.0, 0.005, 0.01, 0.02, 0.06, 0.97, 1.0, 5.0, 10.0, 11.0, -3.0}
	vectors = []analysis.Result{[]float64{0.5}, []float64{0.99, 0.2}, []float64{0.005}, []float64{0.97},
		[]float64{2, 3}, []float64{2, 0.5}, []float64{0.3, 1.5, 7}, []float64{0.02, 0.001}}
	objects = []analysis.Result{
		jsonResult(`{"status":"ok","in":2,"count":3,"ok":true,"requests_made":10,"requests_succeeded":9,"items":[{"latency":50},{"latency":80}]}`),
		jsonResult(`{"status":"down","in":0,"count":0,"ok":false,"requests_made":100,"requests_succeeded":95,"items":[{"latency":120}]}`),
		jsonResult(`{"status":"it's","in":1,"count":12,"ok":true,"requests_made":100,"requests_succeeded":80,"items":[]}`),
	}
	// Empty results: Ramp judges them by emptyResult alone, so they are
	// samples only where a guard sets it.
	nan         analysis.Result = math.NaN()
	noSamples   analysis.Result = []float64{}
	nanSample   analysis.Result = []float64{math.NaN()}
	argoArgs                    = map[string]string{"max": "0.01", "max_rate": "0.5", "max-rate": "0.5"}
	withEmpties                 = func(set []analysis.Result, empty ...analysis.Result) []analysis.Result {
		return append(append([]analysis.Result{}, set...), empty...)
	}
)

func jsonResult(s string) analysis.Result {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// TestCondition: each of Argo's expressions is translated, and on every
// sample Argo's verdict (expr evaluating the original) is Ramp's (Ramp's
// Judge evaluating the CEL with the emptyResult the translation gives).
// cel, where given, is the translation as the docs show it.
func TestCondition(t *testing.T) {
	for _, tc := range []struct {
		argo    string
		failure bool
		on      []analysis.Result
		cel     string
		empty   rampv1.EmptyResult
	}{
		{argo: "result[0] >= 0.95", on: vectors, cel: "result[0] >= 0.95"},
		{argo: "result > 10", on: scalars, cel: "result > 10.0"},
		{argo: "result > 10", failure: true, on: scalars},
		{argo: "result < 0.01 && result >= 0", on: scalars, cel: "result < 0.01 && result >= 0.0"},
		{argo: "result < 1 and result > 0 or result == 5", on: scalars, cel: "result < 1.0 && result > 0.0 || result == 5.0"},
		{argo: "result < 1 and (result > 0 or result == 5)", on: scalars, cel: "result < 1.0 && (result > 0.0 || result == 5.0)"},
		{argo: "not (result > 1)", on: scalars, cel: "!(result > 1.0)"},
		{argo: "!(result[0] > 1) || result[1] < 2", on: vectors},
		{argo: "result * 100 > 5", on: scalars, cel: "result * 100.0 > 5.0"},
		{argo: "result / 4 == 0.25", on: scalars},
		{argo: "result - (1 - result) > 0", on: scalars, cel: "result - (1.0 - result) > 0.0"},
		{argo: "result[0] - result[1] > 0.5", on: vectors},
		{argo: "-result < 2e-3", on: scalars, cel: "-result < 0.002"},
		{argo: "result >= 0xA", on: scalars, cel: "result >= 10.0"},
		{argo: "1_000 * result > 500", on: scalars},
		{argo: "(result > 1) == true", on: scalars, cel: "(result > 1.0) == true"},
		{argo: "(result.requests_made * result.requests_succeeded / 100) >= 90", on: objects,
			cel: "result.requests_made * result.requests_succeeded / 100.0 >= 90.0"},
		{argo: "result.status == 'ok'", on: objects, cel: `result.status == "ok"`},
		{argo: `result["status"] != "down"`, on: objects, cel: `result["status"] != "down"`},
		{argo: `result.status == 'it\'s'`, on: objects, cel: `result.status == "it's"`},
		{argo: "result.status + '!' == 'ok!'", on: objects},
		{argo: "result.ok == true", on: objects, cel: "result.ok == true"},
		{argo: "result.in > 1", on: objects, cel: `result["in"] > 1.0`}, // a word CEL reserves
		{argo: "!result.ok", on: objects},
		{argo: "result.count > 2 && result.ok", on: objects},
		{argo: "len(result) > 1", on: vectors, cel: "size(result) > 1"},
		{argo: "len(result) * 2 > 3", on: vectors, cel: "double(size(result)) * 2.0 > 3.0"},
		{argo: "len(result.items) >= 1", on: objects, cel: "size(result.items) >= 1"},
		{argo: "all(result, {# > 1})", on: vectors, cel: "result.all(x, x > 1.0)"},
		{argo: "any(result, # < 0.5)", on: vectors, cel: "result.exists(x, x < 0.5)"},
		{argo: "none(result, {# > 1})", on: vectors, cel: "!result.exists(x, x > 1.0)"},
		{argo: "one(result, {# < 0.5})", on: vectors, cel: "result.exists_one(x, x < 0.5)"},
		{argo: "result | all(# < 1)", on: vectors},
		{argo: "all(result.items, {.latency < 100})", on: objects, cel: "result.items.all(x, x.latency < 100.0)"},
		{argo: "any(result.items, {#.latency > 100})", on: objects},
		{argo: "result <= {{args.max}}", on: scalars, cel: "result <= double(args.max)"},
		{argo: "result <= {{ args.max_rate }}", on: scalars},
		{argo: "result <= {{args.max-rate}} * 2", on: scalars, cel: "result <= double(args.max_rate) * 2.0"},
		{argo: "isNaN(result) || result < 0.01", on: withEmpties(scalars, nan), cel: "result < 0.01", empty: rampv1.EmptySuccessful},
		{argo: "!isNaN(result) && result < 0.01", on: withEmpties(scalars, nan), empty: rampv1.EmptyFailed},
		{argo: "isNaN(result) || result < 0.01 || result > 5", on: withEmpties(scalars, nan), cel: "result < 0.01 || result > 5.0", empty: rampv1.EmptySuccessful},
		{argo: "len(result) == 0 || result[0] < 0.01", on: withEmpties(vectors, noSamples), empty: rampv1.EmptySuccessful},
		{argo: "len(result) > 0 && result[0] < 0.01", on: withEmpties(vectors, noSamples), cel: "result[0] < 0.01", empty: rampv1.EmptyFailed},
		{argo: "isNaN(result[0]) || result[0] > 0.05", failure: true, on: withEmpties(vectors, nanSample), empty: rampv1.EmptyFailed},
		{argo: "not isNaN(result) and result > 0.05", failure: true, on: withEmpties(scalars, nan), cel: "result > 0.05", empty: rampv1.EmptySuccessful},
	} {
		cel, empty, err := condition(tc.argo, tc.failure)
		if err != nil || empty != tc.empty || (tc.cel != "" && cel != tc.cel) {
			t.Errorf("%q: got %q %q %v, want %q %q", tc.argo, cel, empty, err, tc.cel, tc.empty)
			continue
		}
		judge := rampJudge(t, cel, empty, tc.failure)
		verdicts := map[string]bool{}
		for _, r := range tc.on {
			want, got := argoVerdict(tc.argo, r, tc.failure), judge(r)
			verdicts[want] = true
			if got != want {
				t.Errorf("%q as %q on %v: Ramp %s, Argo %s", tc.argo, cel, r, got, want)
			}
		}
		// Samples that all give one verdict would prove little.
		if !verdicts[string(rampv1.AnalysisSuccessful)] || !verdicts[string(rampv1.AnalysisFailed)] {
			t.Errorf("%q: the samples give Argo's verdicts %v only; add samples", tc.argo, verdicts)
		}
	}
}

// argoVerdict is Argo's verdict on a measurement of a metric with one
// condition, or Error. Argo fills {{args.x}} into the text first.
func argoVerdict(cond string, r analysis.Result, failure bool) string {
	cond = argTag.ReplaceAllStringFunc(cond, func(tag string) string {
		return argoArgs[argTag.FindStringSubmatch(tag)[1]]
	})
	holds, err := argoHolds(cond, r)
	switch {
	case err != nil:
		return "Error"
	case holds != failure:
		return string(rampv1.AnalysisSuccessful)
	}
	return string(rampv1.AnalysisFailed)
}

// rampJudge compiles a translated condition as Ramp does, and judges a
// result with the function Ramp's measurements are judged by.
func rampJudge(t *testing.T, cel string, empty rampv1.EmptyResult, failure bool) func(analysis.Result) string {
	t.Helper()
	m := &rampv1.Metric{Name: "m", SuccessCondition: cel, EmptyResult: empty}
	if failure {
		m.SuccessCondition, m.FailureCondition = "", cel
	}
	conds, err := analysis.Compile(m)
	if err != nil {
		t.Fatalf("Ramp does not compile %q: %v", cel, err)
	}
	args := map[string]string{}
	for k, v := range argoArgs {
		name, _ := rampArgName(k)
		args[name] = v
	}
	return func(r analysis.Result) string {
		phase, _, err := conds.Judge(r, args)
		if err != nil {
			return "Error"
		}
		return string(phase)
	}
}

// TestConditionRefused: what is not translated with certainty is refused,
// and the error names it.
func TestConditionRefused(t *testing.T) {
	for argo, want := range map[string]string{
		"result < 0.01 || isNaN(result)":        "first test",
		"isNaN(result)":                         "first test",
		"default(result, 0) > 1":                "default() is not translated",
		"asInt(result) > 1":                     "asInt() is not translated",
		"asFloat(result) > 1":                   "asFloat() is not translated",
		"isNil(result)":                         "isNil() is not translated",
		"result[0] >= 0.95 && isInf(result[0])": "isInf() is not translated",
		"max(result) > 1":                       "max() is not translated",
		"filter(result, # > 1) == []":           "filter() is not translated",
		"result in [1, 2]":                      "operator in is not translated",
		"result not in [1, 2]":                  "operator in is not translated",
		"result matches '^a'":                   "operator matches is not translated",
		"result.status contains 'o'":            "operator contains is not translated",
		"result.count % 2 == 1":                 "operator % is not translated",
		"result ** 2 > 1":                       "operator ** is not translated",
		"(result ?? 0) > 1":                     "operator ?? is not translated",
		"result > 1 ? true : false":             "conditional expressions",
		"if result > 1 { true } else { false }": "conditional expressions",
		"let x = result; x > 1":                 "not translated",
		"1 < result < 2":                        "chained comparisons",
		"result?.x > 1":                         "?. is not translated",
		"result.x == nil":                       "nil is not translated",
		"result[0:2] == [1]":                    "slices are not translated",
		"result[-1] > 0":                        "index -1 is not translated",
		"result[0.5] > 0":                       "index 0.5 is not translated",
		"result.x.y() > 0":                      "method calls",
		"$env.result > 1":                       "after result and # only",
		"foo > 1":                               "foo is not translated",
		"all(result, {all(result, # > 1)})":     "nested all()",
		"all(result, {#index > 1})":             "#index is not translated",
		"all([1, 2], {# > 1})":                  "on result and its fields only",
		"all(result, {# + 1})":                  "predicate of all() is not a boolean",
		"1 && result > 1":                       "CEL does not take these operands of &&",
		"result.status == 'a' - 1":              "CEL does not take these operands of -",
		"result > {{workflow.x}}":               "only {{args.<name>}}",
		"result > {{args.x}":                    "unclosed {{",
		"result.status == '{{args.want}}'":      "templates in strings",
		"result > 1 &&":                         "not an expression of Argo's expr language",
		"result > {{args.max}} &&":              "not an expression of Argo's expr language",
		"result + $ramparg0$ > 1":               "$ramparg is not translated",
		"result == 'a' && len(result, 1) > 0":   "len() takes one argument",
		"len(result.x + result.y) > 0":          "len() is translated on result",
		"result * 100":                          "not a boolean",
		"not 1":                                 "! of a number or a string",
		"-'a' == 1":                             "- of a boolean or a string",
		"result > {{args.max}} && result.{{x}}": "only {{args.<name>}}",
		"result.status == \"{{ args.want }}\" ": "templates in strings",
		"result[\"{{args.key}}\"] > 1":          "templates in strings",
		"result > 1 == true < 2":                "CEL does not take",
		"(result > 1) + 1 > 0":                  "CEL does not take these operands of +",
		"all(result, {# > 1; # < 2})":           "not translated",
		"result > {{args.1x}}":                  "only {{args.<name>}}",
	} {
		cel, _, err := condition(argo, false)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want refused (%s), got %q, %v", argo, want, cel, err)
		}
	}
}

// FuzzCondition: whatever Argo writes, a translation either is refused or
// compiles in Ramp.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"result[0] >= 0.95", "isNaN(result) || result < 0.01", "all(result, {# > 1})", "len(result) > 0 && result.x == 'a'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, argo string) {
		cel, empty, err := condition(argo, false)
		if err != nil {
			return
		}
		if _, err := analysis.Compile(&rampv1.Metric{Name: "m", SuccessCondition: cel, EmptyResult: empty}); err != nil {
			t.Errorf("%q translated to %q, which Ramp does not compile: %v", argo, cel, err)
		}
	})
}
