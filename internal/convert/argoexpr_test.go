package convert

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
)

// argoHolds evaluates a condition the way Argo Rollouts v1.10.1 does
// (utils/evaluate/evaluate.go, EvalCondition): expr with result and
// Argo's helpers, the environment's values typing the expression.
func argoHolds(condition string, result any) (bool, error) {
	env := map[string]any{
		"result":  result,
		"asInt":   argoAsInt,
		"asFloat": argoAsFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   func(any) bool { return argoIsNil(result) },
		"default": func(_, def any) any {
			if argoIsNil(result) {
				return def
			}
			return result
		},
	}
	program, err := expr.Compile(condition, expr.Env(env))
	if err != nil {
		return false, err
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

// argoIsNil is Argo's isNil: nil, or a nil pointer, map, slice or chan.
func argoIsNil(in any) bool {
	if in == nil {
		return true
	}
	switch v := reflect.ValueOf(in); v.Kind() {
	case reflect.Ptr, reflect.Map, reflect.Chan, reflect.Slice:
		return v.IsNil()
	}
	return false
}

// argoAsInt is Argo's asInt: a number truncated, or a string parsed.
func argoAsInt(in any) int64 {
	if s, ok := in.(string); ok {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			panic(err)
		}
		return i
	}
	switch v := reflect.ValueOf(in); {
	case v.CanFloat():
		return int64(v.Float())
	case v.CanInt():
		return v.Int()
	case v.CanUint():
		return int64(v.Uint())
	}
	panic(fmt.Sprintf("asInt() not supported on %T %v", in, in))
}

// argoAsFloat is Argo's asFloat: a number converted, or a string parsed.
func argoAsFloat(in any) float64 {
	if s, ok := in.(string); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			panic(err)
		}
		return f
	}
	switch v := reflect.ValueOf(in); {
	case v.CanFloat():
		return v.Float()
	case v.CanInt():
		return float64(v.Int())
	case v.CanUint():
		return float64(v.Uint())
	}
	panic(fmt.Sprintf("asFloat() not supported on %T %v", in, in))
}
