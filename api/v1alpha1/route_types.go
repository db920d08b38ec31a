package v1alpha1

import (
	"regexp"
	"strings"
)

// HeaderRoute sends the requests whose headers all match to the canary,
// whatever its weight: testers, internal users, one region. It stays until
// the canary ends, is rolled back, or a later step of the same name
// changes it (one with no match removes it). Gateway API and Istio only.
type HeaderRoute struct {
	// Name tells the canary's routes apart; Ramp's rule or route entry is
	// named ramp-<name>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Match lists the headers a request must all carry. Empty: remove
	// the route of this name.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	Match []HeaderMatch `json:"match,omitempty"`
}

// HeaderMatch is one header and the value it must have.
type HeaderMatch struct {
	// Name of the header, such as x-canary (compared without case).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`
	Name string `json:"name"`

	// Value the header must have.
	Value StringMatch `json:"value"`
}

// CookieRoute sends the requests that carry a cookie with a matching
// value to the canary, as a HeaderRoute on the Cookie header does.
type CookieRoute struct {
	// Name tells the canary's routes apart (shared with setHeaderRoute).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Cookie is the cookie's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`
	Cookie string `json:"cookie"`

	// Value the cookie must have. Absent: remove the route of this name.
	// +optional
	Value *StringMatch `json:"value,omitempty"`
}

// StringMatch is a value compared exactly, by prefix, or with an RE2
// regular expression that must match all of it.
//
// +kubebuilder:validation:XValidation:rule="[has(self.exact), has(self.prefix), has(self.regex)].exists_one(x, x)",message="a value match sets exactly one of exact, prefix and regex"
type StringMatch struct {
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Exact *string `json:"exact,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Prefix *string `json:"prefix,omitempty"`
	// Regex is RE2 syntax, as Envoy reads it, matched against the whole
	// value.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Regex *string `json:"regex,omitempty"`
}

// Pattern is the match as one RE2 expression over the whole value, for
// routing APIs without prefix matches (Gateway API).
func (m StringMatch) Pattern() string {
	switch {
	case m.Exact != nil:
		return regexp.QuoteMeta(*m.Exact)
	case m.Prefix != nil:
		return regexp.QuoteMeta(*m.Prefix) + ".*"
	case m.Regex != nil:
		return *m.Regex
	}
	return ""
}

// Matches reports whether value matches, as a proxy would.
func (m StringMatch) Matches(value string) bool {
	re, err := regexp.Compile("^(?:" + m.Pattern() + ")$")
	return err == nil && re.MatchString(value)
}

// HeaderRoute is the cookie route as the header route it amounts to: a
// regular expression over the Cookie header. Nil Value: a removal.
func (c CookieRoute) HeaderRoute() HeaderRoute {
	r := HeaderRoute{Name: c.Name}
	if c.Value != nil {
		value := "(?:" + c.Value.Pattern() + ")"
		pattern := `(?:.*;\s*)?` + regexp.QuoteMeta(c.Cookie) + "=" + value + `(?:;.*)?`
		r.Match = []HeaderMatch{{Name: "cookie", Value: StringMatch{Regex: &pattern}}}
	}
	return r
}

// RoutesAt are the header and cookie routes in force at step i: those the
// steps up to and including it set, in the order they were first set,
// without those removed since.
func RoutesAt(steps []Step, i int) []HeaderRoute {
	var routes []HeaderRoute
	for j := 0; j <= i && j < len(steps); j++ {
		var r HeaderRoute
		switch s := steps[j]; {
		case s.SetHeaderRoute != nil:
			r = *s.SetHeaderRoute
		case s.SetCookieRoute != nil:
			r = s.SetCookieRoute.HeaderRoute()
		default:
			continue
		}
		at := -1
		for k := range routes {
			if routes[k].Name == r.Name {
				at = k
			}
		}
		switch {
		case len(r.Match) == 0 && at >= 0:
			routes = append(routes[:at], routes[at+1:]...)
		case len(r.Match) == 0:
		case at >= 0:
			routes[at] = r
		default:
			routes = append(routes, r)
		}
	}
	return routes
}

// describeRoute is a route in a few words, for Summary.
func describeRoute(r HeaderRoute) string {
	if len(r.Match) == 0 {
		return "remove route " + r.Name
	}
	parts := make([]string, len(r.Match))
	for i, m := range r.Match {
		switch v := m.Value; {
		case v.Exact != nil:
			parts[i] = m.Name + "=" + *v.Exact
		case v.Prefix != nil:
			parts[i] = m.Name + "=" + *v.Prefix + "*"
		default:
			parts[i] = m.Name + "~" + m.Value.Pattern()
		}
	}
	return "route " + r.Name + " (" + strings.Join(parts, ", ") + ") to the canary"
}
