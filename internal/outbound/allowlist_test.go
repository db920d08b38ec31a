package outbound

import (
	"strings"
	"testing"
)

func TestAllowlist(t *testing.T) {
	allow, err := ParseAllowlist([]string{"ci.example.com", "*.tests.example.com", "127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want string // "" allowed, else part of the error
	}{
		{"https://ci.example.com/run", ""},
		{"https://CI.example.com:8443/run", ""},
		{"https://a.tests.example.com/run", ""},
		{"https://tests.example.com/run", "host tests.example.com is not in the controller's webhook allowlist"},
		{"https://evil-ci.example.com/run", "not in the controller's webhook allowlist"},
		{"https://ci.example.com.evil.io/run", "not in the controller's webhook allowlist"},
		{"http://127.0.0.1:9000/hook", ""},
		{"http://10.0.0.1/hook", "host 10.0.0.1 is not"},
		{"http://shop.tests.example.com/hook", ""},
	}
	for _, tt := range tests {
		err := allow.Check(tt.url)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.url, err, tt.want)
		}
	}
	if err := (Allowlist{}).Check("http://anything"); err != nil {
		t.Errorf("an empty allowlist refused: %v", err)
	}
	for _, bad := range []string{"10.0.0.0/33", "", "user@host", "http://x"} {
		if _, err := ParseAllowlist([]string{bad}); err == nil {
			t.Errorf("entry %q accepted", bad)
		}
	}
}
