"""What the test control plane is built from: pinned versions and the cache they build into."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

#: Read once at import: tests give each test a HOME of its own, the build cache is the user's.
_HOME = Path.home()
GO_DIR = Path(__file__).resolve().parent / "go"
#: kube-apiserver, kube-controller-manager, kube-scheduler and etcd (the etcd server that
#: k8s.io/kubernetes's own module graph pins), in one Go module.
K8S_MODULE = GO_DIR / "k8s"
#: kwok, in a module of its own: its client libraries need not match the server's.
KWOK_MODULE = GO_DIR / "kwok"

#: Inside the range the default release (26.03) supports: Kubernetes 1.34-1.36.
KUBERNETES = "v1.35.4"
ETCD = "v3.6.5"
KWOK = "v0.8.0"

#: kwok's own stage definitions (from its module) that make nodes Ready with leases and pods
#: Running, Ready, Succeeded (Jobs) and gone on delete.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


@dataclass(frozen=True)
class Binaries:
    """The built programs of one pinned set."""

    folder: Path

    @property
    def apiserver(self) -> Path:
        return self.folder / "kube-apiserver"

    @property
    def controller_manager(self) -> Path:
        return self.folder / "kube-controller-manager"

    @property
    def scheduler(self) -> Path:
        return self.folder / "kube-scheduler"

    @property
    def etcd(self) -> Path:
        return self.folder / "etcd"

    @property
    def kwok(self) -> Path:
        return self.folder / "kwok"

    @property
    def kwok_stages(self) -> Path:
        return self.folder / "kwok-stages.yaml"

    def all(self) -> tuple[Path, ...]:
        return (self.apiserver, self.controller_manager, self.scheduler, self.etcd, self.kwok,
                self.kwok_stages)

    def complete(self) -> bool:
        return all(path.is_file() for path in self.all())


def cache_root() -> Path:
    """Where built control planes are kept between runs (KFOPS_CONTROLPLANE_CACHE to move it)."""
    configured = os.environ.get("KFOPS_CONTROLPLANE_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(_HOME / ".cache")
    return Path(base) / "kfops" / "controlplane"


def build_key(go_version: str) -> str:
    """The cache folder's name: the versions, and a digest of everything the build reads."""
    digest = hashlib.sha256(go_version.encode())
    for module in (K8S_MODULE, KWOK_MODULE):
        for path in sorted(module.rglob("*")):
            if path.is_file() and path.suffix in {".mod", ".sum", ".go"}:
                digest.update(str(path.relative_to(GO_DIR)).encode())
                digest.update(path.read_bytes())
    return f"k8s-{KUBERNETES}_etcd-{ETCD}_kwok-{KWOK}_{digest.hexdigest()[:12]}"


def binaries(go_version: str) -> Binaries:
    """The binaries of the pinned set for this Go toolchain (built or not)."""
    return Binaries(cache_root() / build_key(go_version))
