package hookrun

import (
	"strings"
	"testing"
)

func TestShortName(t *testing.T) {
	long := strings.Repeat("checkout-service-", 4) + "6ff4cd9669-1-after-promotion-0"
	tests := []struct{ in, want string }{
		{"web-6ff4cd9669-1-step-2", "web-6ff4cd9669-1-step-2"},
		{long[:63], long[:63]},
	}
	for _, tt := range tests {
		if got := shortName(tt.in, 63); got != tt.want {
			t.Errorf("shortName(%q) = %q", tt.in, got)
		}
	}
	a, b := shortName(long, 63), shortName(long+"1", 63)
	if len(a) > 63 || len(b) > 63 || a == b || !strings.HasPrefix(a, "checkout-service-checkout") {
		t.Errorf("shortened %q and %q", a, b)
	}
}
