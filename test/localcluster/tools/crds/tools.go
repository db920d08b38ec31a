//go:build tools

// Package tools pins the Gateway API and Istio modules whose CRDs the local
// test cluster installs, so router tests run against the real schemas.
package tools

import (
	_ "istio.io/api/networking/v1alpha3"
	_ "sigs.k8s.io/gateway-api/apis/v1"
)
