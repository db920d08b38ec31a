package analysis

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// Field is a templated field of a metric's provider: its path below the
// provider (e.g. "query") and its text.
type Field struct {
	Path, Text string
}

// varNames are the values a template may name: the fields of Vars.
var varNames = func() []string {
	t := reflect.TypeOf(Vars{})
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}()

// CheckTemplate parses a query template and checks that it names only
// values a run gives ({{.CanaryRevision}}, {{.Args.name}}, ...), so that
// a typo is known before any measurement, not at the first one.
func CheckTemplate(text string) error {
	tmpl, err := template.New("").Option("missingkey=error").Parse(text)
	if err != nil {
		return fmt.Errorf("template: %w", err)
	}
	var bad []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.FieldNode:
			if !slices.Contains(varNames, n.Ident[0]) {
				bad = append(bad, "."+n.Ident[0])
			}
		}
	}
	if tmpl.Tree != nil {
		walk(tmpl.Tree.Root)
	}
	if len(bad) > 0 {
		return fmt.Errorf("template: no value %s; a run gives .%s", strings.Join(bad, ", "), strings.Join(varNames, ", ."))
	}
	return nil
}
