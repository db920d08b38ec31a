package rollout_test

import (
	"testing"

	"github.com/rampcd/ramp/test/fixture"
)

func TestMain(m *testing.M) { fixture.Main(m) }
