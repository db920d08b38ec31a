package analysis

import (
	"strconv"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
)

// Threshold is a limit a condition compares the result with, for charts:
// in "result <= 0.01", Op "<=" and Value 0.01.
type Threshold struct {
	// Op is how the result must (success) or must not (failure) compare
	// with Value: <, <=, >, >=.
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// FindThreshold reads the limit of a simple condition: the result (or its
// first element, result[0]) compared with a number or with an argument
// (double(args.x), args.x as a number). Anything else — several
// comparisons, functions of the result — has no single line to draw, and
// ok is false. args are the run's arguments.
func FindThreshold(condition string, args map[string]string) (t Threshold, ok bool) {
	if condition == "" {
		return t, false
	}
	parsed, iss := celEnv.Parse(condition)
	if iss.Err() != nil {
		return t, false
	}
	e := parsed.NativeRep().Expr()
	if e.Kind() != celast.CallKind || len(e.AsCall().Args()) != 2 {
		return t, false
	}
	ops := map[string][2]string{ // the operator, and the same with sides swapped
		"_<_": {"<", ">"}, "_<=_": {"<=", ">="}, "_>_": {">", "<"}, "_>=_": {">=", "<="},
	}
	op, found := ops[e.AsCall().FunctionName()]
	if !found {
		return t, false
	}
	left, right := e.AsCall().Args()[0], e.AsCall().Args()[1]
	if v, isLimit := limit(right, args); isLimit && isResult(left) {
		return Threshold{Op: op[0], Value: v}, true
	}
	if v, isLimit := limit(left, args); isLimit && isResult(right) {
		return Threshold{Op: op[1], Value: v}, true
	}
	return t, false
}

// isResult: result, or result[0].
func isResult(e celast.Expr) bool {
	if e.Kind() == celast.IdentKind {
		return e.AsIdent() == "result"
	}
	if e.Kind() != celast.CallKind || e.AsCall().FunctionName() != "_[_]" {
		return false
	}
	list, index := e.AsCall().Args()[0], e.AsCall().Args()[1]
	return list.Kind() == celast.IdentKind && list.AsIdent() == "result" &&
		index.Kind() == celast.LiteralKind && index.AsLiteral() == types.Int(0)
}

// limit: a number, an argument, or double() of either.
func limit(e celast.Expr, args map[string]string) (float64, bool) {
	switch e.Kind() {
	case celast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.Double:
			return float64(v), true
		case types.Int:
			return float64(v), true
		case types.Uint:
			return float64(v), true
		}
	case celast.SelectKind:
		sel := e.AsSelect()
		if op := sel.Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "args" {
			f, err := strconv.ParseFloat(args[sel.FieldName()], 64)
			return f, err == nil
		}
	case celast.CallKind:
		if call := e.AsCall(); call.FunctionName() == "double" && len(call.Args()) == 1 {
			return limit(call.Args()[0], args)
		}
	}
	return 0, false
}
