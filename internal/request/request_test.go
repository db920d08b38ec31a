package request

import (
	"testing"
)

func TestPatch(t *testing.T) {
	for _, tc := range []struct {
		r    Kind
		want string
	}{
		{Promote, `{"metadata":{"annotations":{"ramp.dev/promote":"t1"}}}`},
		{PromoteFull, `{"metadata":{"annotations":{"ramp.dev/promote-full":"t1"}}}`},
		{Abort, `{"metadata":{"annotations":{"ramp.dev/abort":"t1"}}}`},
		{Retry, `{"metadata":{"annotations":{"ramp.dev/retry":"t1"}}}`},
		{Pause, `{"spec":{"paused":true}}`},
		{Resume, `{"spec":{"paused":false}}`},
	} {
		if got := string(tc.r.Patch("t1")); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.r, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, r := range Kinds {
		if got, err := Parse(string(r)); err != nil || got != r {
			t.Errorf("Parse(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := Parse("promote-fully"); err == nil || err.Error() != `unknown request "promote-fully": use one of promote, promote-full, abort, retry, pause, resume` {
		t.Errorf("Parse of an unknown request: %v", err)
	}
}
