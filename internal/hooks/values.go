package hooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Values are what hook templates and Job environments may use, by name:
// Rollout, Namespace, StableRevision, CanaryRevision, StableService,
// CanaryService, Step, Weight, for a webhook with a callback CallbackURL,
// and for a notification Phase and Message.
type Values map[string]string

// NewValues describes the run's canary.
func NewValues(namespace string, c rampv1.HookContext, callbackURL string) Values {
	return Values{
		"Rollout": c.Rollout, "Namespace": namespace,
		"StableRevision": c.StableRevision, "CanaryRevision": c.CanaryRevision,
		"StableService": c.StableService, "CanaryService": c.CanaryService,
		"Step": c.Step, "Weight": c.Weight.String(), "CallbackURL": callbackURL,
		"Phase": string(c.Phase), "Message": c.Message,
	}
}

// Render fills a template with v, each value escaped with esc; a name
// that is not a value is an error naming it.
func (v Values) Render(name, text string, esc func(string) string) (string, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s template: %w", name, err)
	}
	escaped := make(map[string]string, len(v))
	for k, x := range v {
		escaped[k] = esc(x)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, escaped); err != nil {
		return "", fmt.Errorf("%s template: %w", name, err)
	}
	return b.String(), nil
}

// DefaultBody is the body sent when a webhook gives none: every value, as
// a JSON object with lower-camel-case keys.
func (v Values) DefaultBody() string {
	doc := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if v[k] != "" {
			doc[strings.ToLower(k[:1])+k[1:]] = v[k]
		}
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// Check finds what would make a webhook's template fail when it is sent:
// text that does not parse, or a name that is not one of the values.
func Check(name, text string) error {
	every := NewValues("", rampv1.HookContext{}, "")
	for k := range every {
		every[k] = "x"
	}
	_, err := every.Render(name, text, func(s string) string { return s })
	return err
}
