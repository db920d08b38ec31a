package v1alpha1

import (
	"fmt"
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
// The regex rule compares a match with itself so that a pattern that does
// not compile makes the rule fail (an error is never equal to itself);
// CEL's regular expressions are RE2, as Envoy's.
//
// +kubebuilder:validation:XValidation:rule="[has(self.exact), has(self.prefix), has(self.regex)].exists_one(x, x)",message="a value match sets exactly one of exact, prefix and regex"
// +kubebuilder:validation:XValidation:rule="!has(self.regex) || 'x'.matches(self.regex) == 'x'.matches(self.regex)",message="regex is not a valid RE2 regular expression"
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

// MirrorRoute copies a share of the requests (those whose headers match,
// or all of them) to the canary and drops its answers: the canary meets
// real traffic, which its analysis measures, and no client sees it. It
// stays until the canary ends, or a later step of the same name changes
// it (one without percent removes it). Gateway API and Istio only.
type MirrorRoute struct {
	// Name tells the canary's routes apart (shared with setHeaderRoute).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Percent of the requests copied, 1 to 100. Absent: remove the route
	// of this name.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	Percent *int32 `json:"percent,omitempty"`

	// Match lists the headers a request must carry to be copied. Empty:
	// every request of the managed route.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	Match []HeaderMatch `json:"match,omitempty"`
}

// Route is a header, cookie or mirror route in force at a step, as the
// routers write it.
//
// +kubebuilder:object:generate=false
type Route struct {
	Name  string
	Match []HeaderMatch
	// Mirror, above 0, copies this percentage of the matching requests to
	// the canary; 0 sends them to it.
	Mirror int32
}

// route is the cookie route as the header route it amounts to: a regular
// expression over the Cookie header. Nil Value: a removal.
func (c CookieRoute) route() (r Route, remove bool) {
	r = Route{Name: c.Name}
	if c.Value == nil {
		return r, true
	}
	value := "(?:" + c.Value.Pattern() + ")"
	pattern := `(?:.*;\s*)?` + regexp.QuoteMeta(c.Cookie) + "=" + value + `(?:;.*)?`
	r.Match = []HeaderMatch{{Name: "cookie", Value: StringMatch{Regex: &pattern}}}
	return r, false
}

// route is the step's route, or that it removes one; ok is false for a
// step that is not a route.
func (s Step) route() (r Route, remove, ok bool) {
	switch {
	case s.SetHeaderRoute != nil:
		return Route{Name: s.SetHeaderRoute.Name, Match: s.SetHeaderRoute.Match}, len(s.SetHeaderRoute.Match) == 0, true
	case s.SetCookieRoute != nil:
		r, remove = s.SetCookieRoute.route()
		return r, remove, true
	case s.SetMirrorRoute != nil:
		m := s.SetMirrorRoute
		if m.Percent == nil {
			return Route{Name: m.Name}, true, true
		}
		return Route{Name: m.Name, Match: m.Match, Mirror: *m.Percent}, false, true
	}
	return Route{}, false, false
}

// IsRoute reports whether the step sets or removes a route.
func (s Step) IsRoute() bool {
	_, _, ok := s.route()
	return ok
}

// RoutesAt are the header, cookie and mirror routes in force at step i:
// those the steps up to and including it set, in the order they were
// first set, without those removed since.
func RoutesAt(steps []Step, i int) []Route {
	var routes []Route
	for j := 0; j <= i && j < len(steps); j++ {
		r, remove, ok := steps[j].route()
		if !ok {
			continue
		}
		at := -1
		for k := range routes {
			if routes[k].Name == r.Name {
				at = k
			}
		}
		switch {
		case remove && at >= 0:
			routes = append(routes[:at], routes[at+1:]...)
		case remove:
		case at >= 0:
			routes[at] = r
		default:
			routes = append(routes, r)
		}
	}
	return routes
}

// describeRoute is a route in a few words, for Summary.
func describeRoute(r Route, remove bool) string {
	if remove {
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
	if r.Mirror > 0 {
		what := "every request"
		if len(parts) > 0 {
			what = strings.Join(parts, ", ")
		}
		return fmt.Sprintf("mirror %d%% of %s to the canary (route %s)", r.Mirror, what, r.Name)
	}
	return "route " + r.Name + " (" + strings.Join(parts, ", ") + ") to the canary"
}
