package convert

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Argo's conditions are expressions of the expr language over result;
// Ramp's are CEL. condition translates the forms whose meaning is the same
// in both: comparisons, and/or/not, arithmetic, result[0], result.field,
// len(result), all/any/none/one(result, {# ...}) and {{args.x}} as a
// number. Anything else is refused, never guessed. expr's own parser reads
// the expression (the grammar Argo evaluates it with); celprint.go writes
// the CEL.
//
// An empty result (an empty vector, NaN) never reaches a Ramp condition:
// the metric's emptyResult judges it. So a guard that Argo's condition
// starts with (isNaN(result) || ..., len(result) > 0 && ...) is taken
// out and becomes the emptyResult that gives the guard's verdict.
func condition(expr string, failure bool) (cel string, empty rampv1.EmptyResult, err error) {
	src, args, err := placeholders(expr)
	if err != nil {
		return "", "", err
	}
	tree, err := parser.Parse(src)
	if err != nil {
		msg := err.Error()
		var ferr *file.Error
		if errors.As(err, &ferr) {
			msg = ferr.Message // the snippet would show the placeholders
		}
		return "", "", fmt.Errorf("not an expression of Argo's expr language: %s", restore(msg, args))
	}
	root := tree.Node
	if holds, rest, ok := emptyGuard(root); ok {
		// holds: the condition's value when the result is empty.
		root = rest
		empty = rampv1.EmptySuccessful
		if holds == failure {
			empty = rampv1.EmptyFailed
		}
	}
	p := &printer{args: args, seen: map[ast.Node]bool{}}
	cel, k, err := p.print(root, 0)
	if err != nil {
		return "", "", errors.New(restore(err.Error(), args))
	}
	if k == number || k == text {
		return "", "", fmt.Errorf("%s is not a boolean, so it is no condition", expr)
	}
	return cel, empty, nil
}

// argPrefix names the identifiers that stand for {{args.x}} while expr
// parses the expression: {{ }} is Argo's templating, not expr syntax.
// $ starts no name Argo gives a condition.
const argPrefix = "$ramparg"

var placeholder = regexp.MustCompile(`\{\{(.*?)\}\}`)

// placeholders replaces each {{args.x}} by an identifier, and returns
// them with Ramp's name of each argument.
func placeholders(expr string) (string, map[string]string, error) {
	if strings.Contains(expr, argPrefix) {
		return "", nil, fmt.Errorf("%s is not translated", argPrefix)
	}
	args := map[string]string{}
	var bad error
	src := placeholder.ReplaceAllStringFunc(expr, func(m string) string {
		tag := strings.TrimSpace(m[2 : len(m)-2])
		name, ok := strings.CutPrefix(tag, "args.")
		if ok {
			name, ok = rampArgName(name)
		}
		if !ok {
			bad = fmt.Errorf("{{%s}}: only {{args.<name>}} is translated, and only with a name Ramp takes", tag)
			return m
		}
		id := argPrefix + strconv.Itoa(len(args)) + "$" // "$" ends it: $ramparg1$ is not in $ramparg10$
		args[id] = name
		return id
	})
	if bad != nil {
		return "", nil, bad
	}
	if strings.Contains(src, "{{") {
		return "", nil, fmt.Errorf("unclosed {{")
	}
	return src, args, nil
}

// restore writes {{args.x}} back into a message in place of its
// identifier.
func restore(msg string, args map[string]string) string {
	for id, name := range args {
		msg = strings.ReplaceAll(msg, id, "{{args."+name+"}}")
	}
	return msg
}

// emptyGuard finds "isNaN(result) || rest" or "!isNaN(result) && rest"
// (and the same with len(result)), also as the first of several ||s or
// &&s: holds is the condition's value on an empty result.
func emptyGuard(n ast.Node) (holds bool, rest ast.Node, ok bool) {
	for _, op := range []string{"||", "&&"} {
		first, rest := firstOperand(n, op)
		if rest == nil {
			continue
		}
		empty, isGuard := guardTest(first)
		// "empty || rest" holds on empty; "!empty && rest" does not.
		if isGuard && empty == (op == "||") {
			return empty, rest, true
		}
	}
	return false, nil, false
}

// firstOperand splits a || b || c (or &&) into a and b || c; rest is nil
// when n is not such a chain. expr's || and && associate to the left.
func firstOperand(n ast.Node, op string) (first, rest ast.Node) {
	b, ok := n.(*ast.BinaryNode)
	if !ok || binary[b.Operator].cel != op {
		return n, nil
	}
	first, rest = firstOperand(b.Left, op)
	if rest == nil {
		return first, b.Right
	}
	return first, &ast.BinaryNode{Operator: b.Operator, Left: rest, Right: b.Right}
}

// guardTest reports whether n tests for an empty result, and whether it
// holds (true) or fails (false) on one.
func guardTest(n ast.Node) (holdsOnEmpty, ok bool) {
	switch n := n.(type) {
	case *ast.CallNode:
		return true, isCall(n, "isNaN") && len(n.Arguments) == 1 &&
			(isResult(n.Arguments[0]) || isResultIndex(n.Arguments[0], 0))
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			h, ok := guardTest(n.Node)
			return !h, ok
		}
	case *ast.BinaryNode:
		l, isLen := n.Left.(*ast.BuiltinNode)
		if !isLen || l.Name != "len" || len(l.Arguments) != 1 || !isResult(l.Arguments[0]) {
			return false, false
		}
		var v float64
		switch r := n.Right.(type) {
		case *ast.IntegerNode:
			v = float64(r.Value)
		case *ast.FloatNode:
			v = r.Value
		default:
			return false, false
		}
		switch {
		case (n.Operator == "==" || n.Operator == "<=") && v == 0, n.Operator == "<" && v == 1:
			return true, true
		case (n.Operator == "!=" || n.Operator == ">") && v == 0, n.Operator == ">=" && v == 1:
			return false, true
		}
	}
	return false, false
}

func isCall(n *ast.CallNode, name string) bool {
	id, ok := n.Callee.(*ast.IdentifierNode)
	return ok && id.Value == name
}

func isResult(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "result"
}

func isResultIndex(n ast.Node, i int) bool {
	m, ok := n.(*ast.MemberNode)
	if !ok || !isResult(m.Node) {
		return false
	}
	idx, ok := m.Property.(*ast.IntegerNode)
	return ok && idx.Value == i
}
