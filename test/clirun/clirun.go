// Package clirun runs the ramp CLI in the test's process. It stands apart
// from package fixture, which the dashboard's tests import and the CLI
// (which serves the dashboard) must not be under.
package clirun

import (
	"bytes"
	"context"

	"github.com/rampcd/ramp/internal/cli"
)

// Run runs the ramp CLI in this process with args, and returns what it
// printed, standard output then standard error.
func Run(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	o := cli.NewOptions()
	o.Out, o.ErrOut = &out, &errOut
	cmd := cli.NewRootCmdWith(o)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String() + errOut.String(), err
}
