"""`kfops check` of the target: the Kubernetes version and (kind/k3d hosts) inotify limits.

Each check passes, warns (the install works but something needs attention) or
fails (the install would not work); storage, ingress and GPU checks live in
their packages.
"""

from __future__ import annotations

from pathlib import Path

from kfops.catalog import INOTIFY_LIMITS, supported_kubernetes
from kfops.cluster import Check, Cluster
from kfops.config import LoadedPlatform


def host_checks(loaded: LoadedPlatform, proc: Path = Path("/proc/sys/fs/inotify")) -> list[Check]:
    """The inotify limits of a kind/k3d host (the local target only)."""
    return [inotify_check(proc)] if loaded.platform.spec.target == "local" else []


def kubernetes_check(cluster: Cluster, release: str) -> Check:
    """The API server's version is within the range the release was tested with."""
    version = cluster.server_version()
    tested = supported_kubernetes(release)
    if tested is None:
        return Check("kubernetes", "warn", f"{version}; release {release} is not in kfops's "
                                           "catalog, so its tested range is unknown")
    low, high = tested
    detail = f"{version} (release {release} is tested on {low} to {high})"
    if _minor(version) < _minor(low):
        return Check("kubernetes", "fail", f"{detail}: too old for the release's APIs")
    if _minor(version) > _minor(high):
        return Check("kubernetes", "warn", f"{detail}: newer than tested")
    return Check("kubernetes", "pass", detail)





def inotify_check(proc: Path) -> Check:
    """This host's inotify limits, which kind and k3d clusters share with it."""
    low = []
    for name, wanted in INOTIFY_LIMITS.items():
        try:
            value = int((proc / name).read_text().strip())
        except (OSError, ValueError):
            return Check("inotify", "warn", f"cannot read {proc / name}; Kubeflow on kind/k3d "
                                            "needs " + _sysctl_advice())
        if value < wanted:
            low.append(f"{name} {value} < {wanted}")
    if low:
        return Check("inotify", "warn", f"{'; '.join(low)}: pods on kind/k3d fail with "
                                        f"'too many open files'; run {_sysctl_advice()}")
    return Check("inotify", "pass", "inotify limits are high enough for kind/k3d")


def _sysctl_advice() -> str:
    return " && ".join(f"sudo sysctl fs.inotify.{name}={value}"
                       for name, value in INOTIFY_LIMITS.items())



def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)
