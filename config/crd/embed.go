// Package crd embeds Ramp's CRDs (generated into bases/ by `make
// generate`), so that `ramp lint` validates objects against the same
// schemas and CEL rules as the API server, with no cluster.
package crd

import "embed"

// Bases holds bases/*.yaml.
//
//go:embed bases/*.yaml
var Bases embed.FS
