// Package e2e runs Ramp's controller as a real process against the local
// cluster and checks whole scenarios end to end.
package e2e

import (
	"testing"

	"github.com/rampcd/ramp/test/fixture"
)

func TestMain(m *testing.M) { fixture.Main(m) }
