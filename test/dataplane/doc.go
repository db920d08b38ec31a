// Package dataplane is the data plane of Ramp's end-to-end tests: real
// HTTP traffic on one machine with no containers. It is a test fixture,
// never part of the product.
//
//   - Pods: for each ready pod of the local cluster (whose IPs are loopback
//     addresses), an HTTP server on the pod's IP and port, behaving as its
//     env says (VERSION, ERROR_RATE, LATENCY_MS) and exporting
//     http_requests_total{code} and a latency histogram on /metrics.
//   - Mesh: a stand-in for a mesh's proxies. It serves each Service on a
//     loopback address and splits requests between backends by the live
//     TrafficSplit, HTTPRoute or VirtualService weights, as a proxy would,
//     to ready pods, and exports Linkerd-style (response_total,
//     response_latency_ms) and Istio-style (istio_requests_total,
//     istio_request_duration_milliseconds) metrics.
//   - Prometheus: a real Prometheus server, built from its pinned Go module,
//     on a loopback port, scraping the mesh and the pods.
//   - Load: a request generator at a bounded rate.
//
// Pods are read from the API server, not from EndpointSlices, which refuse
// loopback addresses.
package dataplane
