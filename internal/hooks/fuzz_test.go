package hooks

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/rampcd/ramp/internal/outbound"
)

// FuzzJSONBody: a value rendered into a JSON body's string stays inside it
// and reads back as itself.
func FuzzJSONBody(f *testing.F) {
	for _, v := range []string{"web", `"}, "admin": true, "x": {"`, `\`, "\u2028", "\x00", "{{.Rollout}}"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return
		}
		body, err := Values{"Message": v}.Render("body", `{"message": "{{.Message}}", "ok": true}`, outbound.JSONEscape)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil || got["message"] != v || got["ok"] != true || len(got) != 2 {
			t.Fatalf("%q rendered as %s: %v, %v", v, body, got, err)
		}
	})
}
