package convert

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// node is an object of the input being converted. Each field the
// converter handles is taken out of it; whatever is left when the object
// is done is refused, with the reason the rule table gives or as unknown.
// So no field is ever dropped in silence: a field is mapped because the
// code took it, or it is reported.
type node struct {
	c *converter
	// path is where the object is, for people: spec.strategy.canary.steps[2].
	path string
	// rule is the same path without list indices, as the rule table has it.
	rule string
	m    map[string]any
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (n *node) at(key string) (path, rule string) {
	if key == "" {
		return n.path, n.rule
	}
	return join(n.path, key), join(n.rule, key)
}

// take removes a field and returns its value. The field must have a rule.
func (n *node) take(key string) (any, bool) {
	v, ok := n.m[key]
	if !ok {
		return nil, false
	}
	delete(n.m, key)
	_, r := n.at(key)
	n.c.use(r)
	return v, true
}

// refuse takes a field, if present, and refuses it with reason.
func (n *node) refuse(key, reason string) {
	if _, ok := n.take(key); ok {
		p, _ := n.at(key)
		n.c.problem(p, reason)
	}
}

// problem reports a problem with one of the object's fields.
func (n *node) problem(key, format string, args ...any) {
	p, _ := n.at(key)
	n.c.problem(p, fmt.Sprintf(format, args...))
}

// done reports every field left: refused by the rule table, or unknown.
func (n *node) done() {
	keys := make([]string, 0, len(n.m))
	for k := range n.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, r := n.at(k)
		rule, ok := n.c.rules[r]
		if !ok {
			rule, ok = n.c.rules[r+"[]"]
		}
		switch {
		case ok && rule.Refused != "":
			n.c.use(r)
			n.c.problem(p, rule.Refused)
		case ok || n.c.knows(r):
			// A field the table maps but the code did not take: a
			// converter bug, never a silent drop.
			n.c.problem(p, "not converted (a fault of ramp convert; please report it)")
		default:
			n.c.problem(p, "unknown field: Argo Rollouts has no such field")
		}
		delete(n.m, k)
	}
}

// obj takes a field holding an object.
func (n *node) obj(key string) *node {
	v, ok := n.take(key)
	if !ok || v == nil {
		return nil
	}
	p, r := n.at(key)
	m, ok := v.(map[string]any)
	if !ok {
		n.c.problem(p, fmt.Sprintf("must be an object, not %s", describe(v)))
		return nil
	}
	return &node{c: n.c, path: p, rule: r, m: m}
}

// list takes a field holding a list of objects.
func (n *node) list(key string) []*node {
	items, p, r := n.items(key)
	var out []*node
	for i, v := range items {
		ip := fmt.Sprintf("%s[%d]", p, i)
		m, ok := v.(map[string]any)
		if !ok {
			n.c.problem(ip, fmt.Sprintf("must be an object, not %s", describe(v)))
			continue
		}
		out = append(out, &node{c: n.c, path: ip, rule: r + "[]", m: m})
	}
	return out
}

func (n *node) items(key string) ([]any, string, string) {
	v, ok := n.take(key)
	p, r := n.at(key)
	if !ok || v == nil {
		return nil, p, r
	}
	items, ok := v.([]any)
	if !ok {
		n.c.problem(p, fmt.Sprintf("must be a list, not %s", describe(v)))
		return nil, p, r
	}
	n.c.use(r + "[]")
	return items, p, r
}

// str takes a string field.
func (n *node) str(key string) (string, bool) {
	v, ok := n.take(key)
	if !ok || v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		n.problem(key, "must be a string, not %s", describe(v))
		return "", false
	}
	return s, true
}

// strs takes a field holding a list of strings.
func (n *node) strs(key string) []string {
	items, p, _ := n.items(key)
	var out []string
	for i, v := range items {
		s, ok := v.(string)
		if !ok {
			n.c.problem(fmt.Sprintf("%s[%d]", p, i), "must be a string, not "+describe(v))
			continue
		}
		out = append(out, s)
	}
	return out
}

// strMap takes a field holding a map of strings.
func (n *node) strMap(key string) map[string]string {
	v, ok := n.take(key)
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		n.problem(key, "must be a map of strings, not %s", describe(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			n.problem(key, "%s must be a string, not %s", k, describe(x))
			continue
		}
		out[k] = s
	}
	return out
}

// boolean takes a boolean field.
func (n *node) boolean(key string) (value, ok bool) {
	v, ok := n.take(key)
	if !ok || v == nil {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		n.problem(key, "must be true or false, not %s", describe(v))
	}
	return b, ok
}

// integer takes a whole-number field (or, for Argo's int-or-string
// fields, a string holding one).
func (n *node) integer(key string) (int64, bool) {
	v, ok := n.take(key)
	if !ok || v == nil {
		return 0, false
	}
	i, err := toInt(v)
	if err != nil {
		n.problem(key, "%v", err)
		return 0, false
	}
	return i, true
}

// int32 takes a whole-number field that must fit Ramp's int32 and be at
// least min.
func (n *node) int32(key string, min int64) (*int32, bool) {
	i, ok := n.integer(key)
	if !ok {
		return nil, false
	}
	if i < min || i > 1<<31-1 {
		n.problem(key, "%d is out of range: Ramp takes %d to %d", i, min, 1<<31-1)
		return nil, false
	}
	v := int32(i)
	return &v, true
}

// duration takes a Go duration string ("30s", "5m"), or with seconds a
// whole number of seconds too.
func (n *node) duration(key string, seconds bool) (*time.Duration, bool) {
	v, ok := n.take(key)
	if !ok || v == nil {
		return nil, false
	}
	if s, isStr := v.(string); isStr {
		if strings.Contains(s, "{{") {
			n.problem(key, "%q is a template: Ramp takes a literal duration here", s)
			return nil, false
		}
		if d, err := time.ParseDuration(s); err == nil {
			return &d, true
		}
	}
	if seconds {
		if i, err := toInt(v); err == nil {
			d := time.Duration(i) * time.Second
			return &d, true
		}
	}
	n.problem(key, "%s is not a duration such as 30s or 5m", describe(v))
	return nil, false
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
	case string:
		if strings.Contains(x, "{{") {
			return 0, fmt.Errorf("%q is a template: Ramp takes a literal number here", x)
		}
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("must be a whole number, not %s", describe(v))
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}
