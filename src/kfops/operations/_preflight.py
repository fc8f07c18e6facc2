"""`kfops check`: every feature's preflight checks against the current cluster."""

from __future__ import annotations

from pathlib import Path

from kfops.cluster import Check, Cluster
from kfops.config import LoadedPlatform
from kfops.gpu import gpu_checks
from kfops.ingress import ingress_checks
from kfops.storage import storage_checks, store_checks
from kfops.targets import host_checks, kubernetes_check


def preflight(loaded: LoadedPlatform, cluster: Cluster,
              proc: Path = Path("/proc/sys/fs/inotify")) -> list[Check]:
    """Kubernetes version, storage and the object store, LoadBalancer and ingress, host limits,
    then the GPU checks."""
    return [kubernetes_check(cluster, loaded.platform.spec.release.version),
            *storage_checks(loaded, cluster), *store_checks(loaded),
            *ingress_checks(loaded, cluster),
            *host_checks(loaded, proc), *gpu_checks(loaded, cluster)]
