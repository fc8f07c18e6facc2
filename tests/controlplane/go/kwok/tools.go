//go:build tools

// Package kwok pins kwok, which plays the nodes and kubelets of the test
// control plane; its Kubernetes libraries are its own, apart from the server's.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"
