"""A real Kubernetes control plane for the tests, built from the Kubernetes Go modules.

`build()` builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok from
the Go module proxy into a version-keyed cache; `ControlPlane.start()` runs them on
127.0.0.1, inside a loopback-only network namespace where the machine allows it.
`scripts/control-plane build|up|down` is the same from a shell.
"""

from tests.controlplane._build import BuildError, Built, build
from tests.controlplane._run import GPU_NODE, GPU_TAINT, PLAIN_NODES, ControlPlane, StartError

__all__ = ["GPU_NODE", "GPU_TAINT", "PLAIN_NODES", "BuildError", "Built", "ControlPlane",
           "StartError", "build"]
