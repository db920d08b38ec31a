package dataplane

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// matchRule sends the requests whose headers all match to its backends,
// ahead of the weighted default: a Gateway API rule or an Istio HTTP
// route with header matches.
type matchRule struct {
	name     string
	headers  []headerMatch
	backends []backend
	mirror   *mirror
}

// headerMatch is one header and its value: exact, or a regular expression
// over the whole value (Envoy's semantics), or a prefix.
type headerMatch struct {
	name          string // canonical form
	exact, prefix *string
	regex         *regexp.Regexp
}

func (m headerMatch) matches(h http.Header) bool {
	v, ok := h[m.name]
	if !ok || len(v) == 0 {
		return false
	}
	value := strings.Join(v, ",")
	switch {
	case m.exact != nil:
		return value == *m.exact
	case m.prefix != nil:
		return strings.HasPrefix(value, *m.prefix)
	case m.regex != nil:
		return m.regex.MatchString(value)
	}
	return false
}

// match reports whether every header matches.
func (r matchRule) match(h http.Header) bool {
	for _, m := range r.headers {
		if !m.matches(h) {
			return false
		}
	}
	return true
}

func fullMatch(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + pattern + ")$")
}

// gatewayHeaders reads a Gateway API match's headers: Exact (the default)
// and RegularExpression.
func gatewayHeaders(match map[string]any) ([]headerMatch, error) {
	list, _, _ := unstructured.NestedSlice(match, "headers")
	var out []headerMatch
	for _, h := range list {
		hm := h.(map[string]any)
		name, _ := hm["name"].(string)
		value, _ := hm["value"].(string)
		m := headerMatch{name: http.CanonicalHeaderKey(name)}
		switch hm["type"] {
		case nil, "Exact":
			m.exact = &value
		case "RegularExpression":
			re, err := fullMatch(value)
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", name, err)
			}
			m.regex = re
		default:
			return nil, fmt.Errorf("header %s: match type %v", name, hm["type"])
		}
		out = append(out, m)
	}
	return out, nil
}

// istioHeaders reads an Istio HTTPMatchRequest's headers.
func istioHeaders(match map[string]any) ([]headerMatch, error) {
	headers, _, _ := unstructured.NestedMap(match, "headers")
	var out []headerMatch
	for name, v := range headers {
		sm, _ := v.(map[string]any)
		m := headerMatch{name: http.CanonicalHeaderKey(name)}
		switch {
		case sm["exact"] != nil:
			s := fmt.Sprint(sm["exact"])
			m.exact = &s
		case sm["prefix"] != nil:
			s := fmt.Sprint(sm["prefix"])
			m.prefix = &s
		case sm["regex"] != nil:
			re, err := fullMatch(fmt.Sprint(sm["regex"]))
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", name, err)
			}
			m.regex = re
		default:
			return nil, fmt.Errorf("header %s: no exact, prefix or regex", name)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// pickRule returns the first rule whose headers match.
func pickRule(rules []matchRule, h http.Header) (matchRule, bool) {
	for _, r := range rules {
		if r.match(h) {
			return r, true
		}
	}
	return matchRule{}, false
}
