//go:build tools

// Package tools pins the InfluxDB server that the InfluxDB provider's tests
// query (its cmd/influxd, built on first use and cached beside the
// cluster's binaries). 1.8 is the newest InfluxDB that builds from Go
// alone: from 1.9 its Flux engine needs a Rust library. 1.8 serves both
// InfluxQL (/query) and Flux (/api/v2/query).
package tools

import _ "github.com/influxdata/influxdb/cmd/influxd"
