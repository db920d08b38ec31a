package analysis

import (
	"fmt"
	"math"

	"github.com/google/cel-go/cel"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// maxConditionCost bounds the work of evaluating one condition, in CEL's
// cost units (about one per operation).
const maxConditionCost = 100_000

// Conditions are a metric's compiled success and failure conditions.
type Conditions struct {
	success, failure cel.Program
	emptyResult      rampv1.EmptyResult
}

// celEnv declares result, the measured value, as dynamic (a double, a
// list of doubles, or any JSON value), and args, the run's arguments.
var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("result", cel.DynType),
		cel.Variable("args", cel.MapType(cel.StringType, cel.StringType)))
	if err != nil {
		panic(err)
	}
	return env
}()

// JobSuccess is the success condition of a job metric that gives none.
const JobSuccess = "result.succeeded"

// Compile checks a metric's conditions. Errors name the metric and the
// condition, with CEL's own message.
func Compile(m *rampv1.Metric) (*Conditions, error) {
	c := &Conditions{emptyResult: m.EmptyResult}
	if c.emptyResult == "" {
		c.emptyResult = rampv1.EmptyInconclusive
	}
	success := m.SuccessCondition
	if success == "" && m.FailureCondition == "" && m.Provider.Job != nil {
		success = JobSuccess // a Job's verdict is its own
	}
	for _, cond := range []struct {
		field, expr string
		prog        *cel.Program
	}{
		{"successCondition", success, &c.success},
		{"failureCondition", m.FailureCondition, &c.failure},
	} {
		if cond.expr == "" {
			continue
		}
		ast, iss := celEnv.Compile(cond.expr)
		if iss.Err() != nil {
			return nil, fmt.Errorf("metric %s: %s %q: %w", m.Name, cond.field, cond.expr, iss.Err())
		}
		// A condition is a comparison or two; the cost limit stops one
		// that would run for seconds (a comprehension over a huge list)
		// from holding a worker of the controller.
		prog, err := celEnv.Program(ast, cel.CostLimit(maxConditionCost))
		if err != nil {
			return nil, fmt.Errorf("metric %s: %s %q: %w", m.Name, cond.field, cond.expr, err)
		}
		*cond.prog = prog
	}
	if c.success == nil && c.failure == nil {
		return nil, fmt.Errorf("metric %s: needs a successCondition or a failureCondition", m.Name)
	}
	return c, nil
}

// Judge decides a measurement from its result: the failure condition
// first, then the success condition. An empty result (no sample, NaN) is
// judged by the metric's emptyResult. An expression that does not evaluate
// to a boolean is an error.
func (c *Conditions) Judge(result Result, args map[string]string) (rampv1.AnalysisPhase, string, error) {
	if isEmpty(result) {
		return rampv1.AnalysisPhase(c.emptyResult), "no data (empty result or NaN)", nil
	}
	if args == nil {
		args = map[string]string{}
	}
	in := map[string]any{"result": result, "args": args}
	if c.failure != nil {
		failed, err := eval(c.failure, in)
		if err != nil {
			return "", "", fmt.Errorf("failureCondition: %w", err)
		}
		if failed {
			return rampv1.AnalysisFailed, "failureCondition holds", nil
		}
	}
	if c.success != nil {
		ok, err := eval(c.success, in)
		if err != nil {
			return "", "", fmt.Errorf("successCondition: %w", err)
		}
		if !ok {
			return rampv1.AnalysisFailed, "successCondition does not hold", nil
		}
	}
	return rampv1.AnalysisSuccessful, "", nil
}

func eval(p cel.Program, in map[string]any) (bool, error) {
	out, _, err := p.Eval(in)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluates to %v (%s), not a boolean", out.Value(), out.Type())
	}
	return b, nil
}

func isEmpty(r Result) bool {
	switch v := r.(type) {
	case nil:
		return true
	case float64:
		return math.IsNaN(v)
	case []float64:
		if len(v) == 0 {
			return true
		}
		for _, x := range v {
			if !math.IsNaN(x) {
				return false
			}
		}
		return true
	}
	return false
}
