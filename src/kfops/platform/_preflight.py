"""`kfops check`: every feature's preflight checks against the current cluster."""

from __future__ import annotations

from kfops.cluster import Check, Cluster
from kfops.config import LoadedPlatform
from kfops.gpu import gpu_checks
from kfops.targets import environment_checks


def preflight(loaded: LoadedPlatform, cluster: Cluster) -> list[Check]:
    """Environment checks (version, storage, LoadBalancer, inotify), then the GPU ones."""
    return [*environment_checks(loaded, cluster), *gpu_checks(loaded, cluster)]
