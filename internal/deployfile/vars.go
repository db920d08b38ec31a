package deployfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// templateVar matches a CD-as-a-Service template variable: {{armory.x}},
// {{context.x}}, {{secrets.x}}.
var templateVar = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

// varScope is what a template's variables become.
type varScope struct {
	// escape readies a literal value for where the text goes (a PromQL
	// string, a URL query, a JSON string); nil: raw.
	escape func(string) string
	// literalOnly: the text is not a Ramp template (a header value), so
	// only values known now may fill it.
	literalOnly bool
	// literal values known when the file is translated.
	literal map[string]string
	// ramp maps a variable to a Ramp template value ({{.Namespace}}).
	ramp map[string]string
	// context: {{context.x}} becomes {{.Args.x}} (analysis) or the
	// literal value (webhooks: their values are rendered by Ramp).
	context     map[string]string
	contextArgs bool
}

// translate rewrites the variables of text; one Ramp cannot give is an
// error naming it.
func (s varScope) translate(text string) (string, error) {
	var errs []string
	out := templateVar.ReplaceAllStringFunc(text, func(m string) string {
		name := templateVar.FindStringSubmatch(m)[1]
		if v, ok := s.literal[name]; ok {
			return s.constant(v)
		}
		if v, ok := s.ramp[name]; ok {
			if s.literalOnly {
				errs = append(errs, fmt.Sprintf("{{%s}}: known only when the step runs, and header values are sent as written", name))
				return m
			}
			return v
		}
		if key, ok := strings.CutPrefix(name, "context."); ok {
			if _, known := s.context[key]; !known {
				errs = append(errs, fmt.Sprintf("{{%s}}: the step's context has no %q", name, key))
				return m
			}
			if s.contextArgs {
				return "{{.Args." + key + "}}"
			}
			return s.constant(s.context[key])
		}
		switch {
		case strings.HasPrefix(name, "secrets."):
			errs = append(errs, fmt.Sprintf("{{%s}}: secrets are not supported here; use a header valueFrom a Secret in the Rollout (docs/hooks.md)", name))
		case strings.HasPrefix(name, "armory.startTime"), strings.HasPrefix(name, "armory.endTime"):
			errs = append(errs, fmt.Sprintf("{{%s}}: Ramp runs instant queries at each interval; write the window in the query, e.g. [5m]", name))
		default:
			errs = append(errs, fmt.Sprintf("{{%s}}: not a variable Ramp supports (docs/deploy-file.md lists them)", name))
		}
		return m
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	if !s.literalOnly {
		// What Ramp renders must parse as its template.
		if _, err := template.New("").Parse(out); err != nil {
			return "", fmt.Errorf("not a valid template once translated: %w", err)
		}
	}
	return out, nil
}

// constant puts a value known now into the text: escaped for where it
// goes, and, in a Ramp template, as a template constant so that no "{{" in
// it is read as an action.
func (s varScope) constant(v string) string {
	if s.escape != nil {
		v = s.escape(v)
	}
	if s.literalOnly || !strings.ContainsAny(v, "{}") {
		return v
	}
	return "{{" + strconv.Quote(v) + "}}"
}
