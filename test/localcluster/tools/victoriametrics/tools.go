//go:build tools

// Package tools pins the VictoriaMetrics single-node server whose Graphite
// render API (/render) the Graphite provider's tests query (its
// app/victoria-metrics, built on first use and cached beside the cluster's
// binaries). It serves the render API since v1.90.0 in its open-source
// build, and compiles without cgo.
package tools

import _ "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics"
