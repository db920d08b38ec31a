package convert

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// kind is what a translated expression evaluates to, as far as the
// expression shows it. CEL refuses at compile time an operator whose
// operands do not fit (1.0 && true, "a" - 1.0); expr refuses them only when
// it runs. Such a condition is refused rather than written as CEL that
// Ramp would not take.
type kind int

const (
	dynamic kind = iota // result and what is read from it: known when measured
	boolean
	number
	text
)

// CEL's precedences, loosest first.
const (
	precOr = iota + 1
	precAnd
	precRel
	precAdd
	precMul
	precUnary
	precMember
)

// binary maps expr's binary operators to CEL's; the others (in, matches,
// contains, %, **, ??, ..) are refused.
var binary = map[string]struct {
	cel  string
	prec int
}{
	"||": {"||", precOr}, "or": {"||", precOr}, "&&": {"&&", precAnd}, "and": {"&&", precAnd},
	"==": {"==", precRel}, "!=": {"!=", precRel}, "<": {"<", precRel}, "<=": {"<=", precRel}, ">": {">", precRel}, ">=": {">=", precRel},
	"+": {"+", precAdd}, "-": {"-", precAdd}, "*": {"*", precMul}, "/": {"/", precMul},
}

// printer writes a parsed expr expression in CEL.
type printer struct {
	args map[string]string // placeholder identifier: Ramp's argument name
	elem bool              // inside all(), any(), none() or one(): # is x
	seen map[ast.Node]bool
}

// print writes n in CEL; parent is the precedence of the operator around
// it.
func (p *printer) print(n ast.Node, parent int) (string, kind, error) {
	if err := p.once(n); err != nil {
		return "", 0, err
	}
	switch n := n.(type) {
	case *ast.BoolNode:
		return strconv.FormatBool(n.Value), boolean, nil
	case *ast.IntegerNode:
		// CEL does not compare a double with an int; Ramp's results are
		// doubles.
		return strconv.Itoa(n.Value) + ".0", number, nil
	case *ast.FloatNode:
		return double(n.Value), number, nil
	case *ast.StringNode:
		s, err := p.str(n)
		return s, text, err
	case *ast.IdentifierNode:
		if n.Value == "result" {
			return "result", dynamic, nil
		}
		if name, ok := p.args[n.Value]; ok {
			return "double(args" + field(name) + ")", number, nil
		}
		return "", 0, fmt.Errorf("%s is not translated (Ramp's CEL conditions know result and args)", n.Value)
	case *ast.PointerNode:
		if n.Name != "" {
			return "", 0, fmt.Errorf("#%s is not translated", n.Name)
		}
		return "x", dynamic, nil
	case *ast.MemberNode:
		return p.member(n)
	case *ast.UnaryNode:
		return p.unary(n)
	case *ast.BinaryNode:
		return p.binary(n, parent)
	case *ast.BuiltinNode:
		return p.builtin(n)
	case *ast.CallNode:
		if isCall(n, "isNaN") {
			return "", 0, errors.New("isNaN is translated only as the condition's first test (isNaN(result) || ..., !isNaN(result) && ...): Ramp judges a NaN result by emptyResult before any condition")
		}
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			return "", 0, fmt.Errorf("%s() is not translated (Ramp's CEL conditions know result and args)", id.Value)
		}
		return "", 0, fmt.Errorf("%s: method calls are not translated", n)
	case *ast.ConditionalNode:
		return "", 0, fmt.Errorf("%s: conditional expressions (? :, if else) are not translated", n)
	case *ast.ChainNode:
		return "", 0, fmt.Errorf("%s: ?. is not translated", n)
	case *ast.SliceNode:
		return "", 0, fmt.Errorf("%s: slices are not translated", n)
	case *ast.NilNode:
		return "", 0, errors.New("nil is not translated: expr reads a missing field as nil, CEL as an error")
	}
	return "", 0, fmt.Errorf("%s is not translated", n)
}

// once refuses a node met twice: expr reads 1 < a < 2 as 1 < a && a < 2,
// with a in two places.
func (p *printer) once(n ast.Node) error {
	if p.seen[n] {
		return errors.New("chained comparisons are not translated")
	}
	p.seen[n] = true
	return nil
}

func (p *printer) str(n *ast.StringNode) (string, error) {
	if strings.Contains(n.Value, argPrefix) {
		return "", fmt.Errorf("%q: templates in strings are not translated", n.Value)
	}
	// Go's escapes are CEL's: \n, \", \xHH, \uHHHH.
	return strconv.Quote(n.Value), nil
}

// member writes result[0], result.field, result["field"] and the same
// after #.
func (p *printer) member(n *ast.MemberNode) (string, kind, error) {
	if n.Optional || n.Method {
		return "", 0, fmt.Errorf("%s is not translated", n)
	}
	if r := root(n); !isResult(r) {
		if _, ok := r.(*ast.PointerNode); !ok {
			return "", 0, fmt.Errorf("%s: indexes and fields are translated after result and # only", n)
		}
	}
	base, _, err := p.print(n.Node, precMember)
	if err != nil {
		return "", 0, err
	}
	switch k := n.Property.(type) {
	case *ast.IntegerNode:
		return base + "[" + strconv.Itoa(k.Value) + "]", dynamic, nil
	case *ast.StringNode:
		if n.Location() == k.Location() { // written .field: expr places the node at the name
			return base + field(k.Value), dynamic, nil
		}
		s, err := p.str(k)
		return base + "[" + s + "]", dynamic, err
	}
	return "", 0, fmt.Errorf("index %s is not translated: only a whole number from 0 or a string", n.Property)
}

// root is the value n's indexes and fields are read from.
func root(n ast.Node) ast.Node {
	for {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return n
		}
		n = m.Node
	}
}

var celIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// celReserved are the words CEL does not take as a field's name.
var celReserved = map[string]bool{
	"false": true, "in": true, "null": true, "true": true, "as": true, "break": true, "const": true,
	"continue": true, "else": true, "for": true, "function": true, "if": true, "import": true, "let": true,
	"loop": true, "package": true, "namespace": true, "return": true, "var": true, "void": true, "while": true,
}

// field selects name: .name, or ["name"] where CEL would not read .name.
func field(name string) string {
	if celIdent.MatchString(name) && !celReserved[name] {
		return "." + name
	}
	return "[" + strconv.Quote(name) + "]"
}

func (p *printer) unary(n *ast.UnaryNode) (string, kind, error) {
	s, k, err := p.print(n.Node, precUnary)
	if err != nil {
		return "", 0, err
	}
	if _, ok := n.Node.(*ast.UnaryNode); ok {
		s = "(" + s + ")" // CEL has no !-x
	}
	switch n.Operator {
	case "!", "not":
		if k == number || k == text {
			return "", 0, fmt.Errorf("%s: ! of a number or a string is not translated", n)
		}
		return "!" + s, boolean, nil
	case "-":
		if k == boolean || k == text {
			return "", 0, fmt.Errorf("%s: - of a boolean or a string is not translated", n)
		}
		return "-" + s, k, nil
	}
	return "", 0, fmt.Errorf("unary %s is not translated", n.Operator)
}

func (p *printer) binary(n *ast.BinaryNode, parent int) (string, kind, error) {
	op, ok := binary[n.Operator]
	if !ok {
		return "", 0, fmt.Errorf("operator %s is not translated", n.Operator)
	}
	// && and || associate; arithmetic associates to the left, so a right
	// operand of the same precedence needs parentheses; comparisons do not
	// chain in CEL.
	right := op.prec + 1
	if op.prec <= precAnd {
		right = op.prec
	}
	// len(x) compared with a whole number stays an int, as CEL's size() is.
	counted := op.prec == precRel && (isLen(n.Left) && isInt(n.Right) || isInt(n.Left) && isLen(n.Right))
	l, lk, err := p.operand(n.Left, op.prec, counted)
	if err != nil {
		return "", 0, err
	}
	r, rk, err := p.operand(n.Right, right, counted)
	if err != nil {
		return "", 0, err
	}
	k, ok := combine(op.cel, lk, rk)
	if !ok {
		return "", 0, fmt.Errorf("%s: CEL does not take these operands of %s", n, n.Operator)
	}
	s := l + " " + op.cel + " " + r
	if op.prec < parent || (op.prec == precRel && parent == precRel) {
		s = "(" + s + ")"
	}
	return s, k, nil
}

// combine is the kind of l op r, and false when CEL takes no such
// operands.
func combine(op string, l, r kind) (kind, bool) {
	agree := l == dynamic || r == dynamic || l == r
	has := func(k kind) bool { return l == k || r == k }
	switch op {
	case "||", "&&":
		return boolean, !has(number) && !has(text)
	case "==", "!=":
		return boolean, agree
	case "<", "<=", ">", ">=":
		return boolean, agree && !has(boolean)
	}
	if !agree || has(boolean) || (op != "+" && has(text)) {
		return 0, false
	}
	if l == dynamic {
		return r, true
	}
	return l, true
}

// operand writes one side of a binary operator; counted writes a whole
// number as an int and len() as CEL's size().
func (p *printer) operand(n ast.Node, prec int, counted bool) (string, kind, error) {
	if !counted {
		return p.print(n, prec)
	}
	if err := p.once(n); err != nil {
		return "", 0, err
	}
	if i, ok := n.(*ast.IntegerNode); ok {
		return strconv.Itoa(i.Value), number, nil
	}
	s, err := p.size(n.(*ast.BuiltinNode)) // counted: the other side is len()
	return s, number, err
}

func isLen(n ast.Node) bool {
	b, ok := n.(*ast.BuiltinNode)
	return ok && b.Name == "len"
}

func isInt(n ast.Node) bool {
	_, ok := n.(*ast.IntegerNode)
	return ok
}

func (p *printer) builtin(n *ast.BuiltinNode) (string, kind, error) {
	switch n.Name {
	case "len":
		// size() is an int; beside doubles it is converted, as expr does.
		s, err := p.size(n)
		return "double(" + s + ")", number, err
	case "all", "any", "none", "one":
		return p.predicate(n)
	}
	return "", 0, fmt.Errorf("%s() is not translated", n.Name)
}

func (p *printer) size(n *ast.BuiltinNode) (string, error) {
	if len(n.Arguments) != 1 {
		return "", fmt.Errorf("%s: len() takes one argument", n)
	}
	if _, ok := n.Arguments[0].(*ast.MemberNode); !ok && !isResult(n.Arguments[0]) {
		if _, ok := n.Arguments[0].(*ast.PointerNode); !ok {
			return "", fmt.Errorf("%s: len() is translated on result, # and their fields only", n)
		}
	}
	s, _, err := p.print(n.Arguments[0], 0)
	return "size(" + s + ")", err
}

// predicate writes all/any/none/one(list, {# ...}) as CEL's macros.
func (p *printer) predicate(n *ast.BuiltinNode) (string, kind, error) {
	if p.elem {
		return "", 0, fmt.Errorf("nested %s() is not translated", n.Name)
	}
	var pred *ast.PredicateNode
	if len(n.Arguments) == 2 {
		pred, _ = n.Arguments[1].(*ast.PredicateNode)
	}
	if pred == nil || !isResult(root(n.Arguments[0])) {
		return "", 0, fmt.Errorf("%s: %s() is translated on result and its fields only", n, n.Name)
	}
	list, _, err := p.print(n.Arguments[0], precMember)
	if err != nil {
		return "", 0, err
	}
	p.elem = true
	body, k, err := p.print(pred.Node, 0)
	p.elem = false
	if err != nil {
		return "", 0, err
	}
	if k == number || k == text {
		return "", 0, fmt.Errorf("%s: the predicate of %s() is not a boolean", n, n.Name)
	}
	macro := map[string]string{"all": ".all", "any": ".exists", "none": ".exists", "one": ".exists_one"}[n.Name]
	s := list + macro + "(x, " + body + ")"
	if n.Name == "none" {
		s = "!" + s
	}
	return s, boolean, nil
}

// double writes a number as a CEL double literal.
func double(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if v != 0 && (math.Abs(v) < 1e-4 || math.Abs(v) >= 1e21) {
		s = strconv.FormatFloat(v, 'g', -1, 64)
	}
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
