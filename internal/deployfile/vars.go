package deployfile

import (
	"fmt"
	"regexp"
	"strings"
)

// templateVar matches a CD-as-a-Service template variable: {{armory.x}},
// {{context.x}}, {{secrets.x}}.
var templateVar = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

// varScope is what a template's variables become.
type varScope struct {
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
			return v
		}
		if v, ok := s.ramp[name]; ok {
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
			return s.context[key]
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
	return out, nil
}
