package analysis

import (
	"strings"
	"testing"
)

func TestCheckTemplate(t *testing.T) {
	tests := []struct {
		text, wantErr string
	}{
		{text: `sum(rate(x{pod=~"{{.CanaryPods}}", ns="{{.Namespace}}"}[{{.Args.window}}]))`},
		{text: `{{if .Args.x}}{{.Rollout}}{{else}}{{.StableService}}{{end}}`},
		{text: `no template at all`},
		{text: `{{.CanaryRevison}}`, wantErr: "no value .CanaryRevison; a run gives .Namespace, .Rollout"},
		{text: `{{if .Nope}}x{{end}}`, wantErr: "no value .Nope"},
		{text: `{{.Args.x`, wantErr: "template: "},
	}
	for _, tt := range tests {
		err := CheckTemplate(tt.text)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckTemplate(%q) = %v, want %q", tt.text, err, tt.wantErr)
		}
	}
}
