//go:build tools

// Package tools pins the Kubernetes control-plane binaries the local test
// cluster runs. It is its own module so that Ramp never depends on
// k8s.io/kubernetes; test/localcluster builds these commands on first use.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
