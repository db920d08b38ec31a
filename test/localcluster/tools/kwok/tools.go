//go:build tools

// Package tools pins kwok, which fakes the nodes and pods of the local test
// cluster, and the Stage configs it ships.
//
// Every dependency kwok shares with the kube module is required at the kube
// module's version (or newer, where kwok needs it): built after kube, kwok
// then reuses its compiled packages and takes seconds instead of minutes.
// TestKwokSharesKubeDependencies keeps it so; after a kube upgrade, run the
// `go get` lines it prints.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
