package deployfile

import (
	"strings"
	"testing"
)

// TestParseStrict: every typo and every key written twice is reported, each
// with its path, and the short setWeight is read.
func TestParseStrict(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"typos everywhere", `
version: v1
targets:
  prod: {account: a, namespace: b, strategy: c, constraint: {}}
manifests: [{path: x, target: [prod]}]
strategies:
  c: {canary: {steps: [{setWeight: {weigth: 5}}, {pause: {duraton: 1}}]}}
`, []string{
			`unknown field "targets.prod.constraint"`,
			`unknown field "manifests[0].target"`,
			`unknown field "strategies.c.canary.steps[0].setWeight.weigth"`,
			`unknown field "strategies.c.canary.steps[1].pause.duraton"`,
		}},
		{"a key twice", "version: v1\nkind: kubernetes\nkind: kubernetes\n", []string{`"kind" already set in map`}},
		{"a wrong type", "version: v1\ntargets: [prod]\n", []string{"targets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}

	f, err := Parse([]byte("strategies:\n  c: {canary: {steps: [{setWeight: 25}, {setWeight: {weight: 50}}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Strategies["c"].Canary.Steps; s[0].SetWeight.Weight != 25 || s[1].SetWeight.Weight != 50 {
		t.Errorf("weights %+v %+v", s[0].SetWeight, s[1].SetWeight)
	}
}
