package strategy

import "testing"

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{"BeforeCanary": "before-canary", "AfterPromotion": "after-promotion", "x": "x"} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%s) = %s", in, got)
		}
	}
}
