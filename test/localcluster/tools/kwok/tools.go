//go:build tools

// Package tools pins kwok, which fakes the nodes and pods of the local test
// cluster, and the Stage configs it ships.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
