package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// sbom writes a CycloneDX SBOM (JSON) of a Go binary: its modules and
// their versions, read from the build information Go embeds, by
// cyclonedx-gomod (pinned in hack/tools). No serial number or timestamp:
// the same binary gives the same SBOM.
func (p *project) sbom(ctx context.Context, binary, out string) error {
	cmd := exec.CommandContext(ctx, "go", "tool", "-modfile=hack/tools/go.mod", "cyclonedx-gomod", "bin",
		"-json", "-noserial", "-notimestamp", "-version", p.version, "-output", out, binary)
	cmd.Dir = p.root
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	if data, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("SBOM of %s: %w\n%s", binary, err, data)
	}
	return nil
}
