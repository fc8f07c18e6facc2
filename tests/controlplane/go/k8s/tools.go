//go:build tools

// Package controlplane pins the Kubernetes control plane commands this module
// builds; `go build k8s.io/kubernetes/cmd/...` resolves them from go.sum.
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
