//go:build tools

// Package tools pins the Prometheus server that the demo, the analysis tests
// and the benchmarks run (its cmd/prometheus, built on first use and cached
// beside the cluster's binaries). Module v0.316.0 is Prometheus 3.16.0.
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
