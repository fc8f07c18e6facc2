"""`kfops check` for GPUs: nodes that advertise nvidia.com/gpu, the GPU operator's CRD."""

from __future__ import annotations

from kfops.catalog import GPU_OPERATOR_CRD, GPU_RESOURCE
from kfops.cluster import Check, Cluster
from kfops.config import LoadedPlatform

from ._operator import install_command


def gpu_checks(loaded: LoadedPlatform, cluster: Cluster) -> list[Check]:
    """With gpu.enabled: GPUs allocatable (or on demand), and the operator when it is used."""
    gpu = loaded.platform.spec.gpu
    if not gpu.enabled:
        return []
    checks = [allocatable_check(loaded, cluster)]
    if gpu.install == "operator":
        checks.append(
            Check("gpu-operator", "pass", f"CRD {GPU_OPERATOR_CRD} is installed")
            if cluster.has_crd(GPU_OPERATOR_CRD) else
            Check("gpu-operator", "fail", f"CRD {GPU_OPERATOR_CRD} is missing: install the "
                                          f"operator: {install_command(gpu)}"))
    return checks


def allocatable_check(loaded: LoadedPlatform, cluster: Cluster) -> Check:
    """How many GPUs the nodes advertise; none is fine where Karpenter or the stack adds them."""
    spec = loaded.platform.spec
    counts = {n["metadata"]["name"]: _gpus(n) for n in cluster.list("v1", "Node")}
    total = sum(counts.values())
    if total:
        nodes = sum(1 for c in counts.values() if c)
        return Check("gpus", "pass", f"{total} {GPU_RESOURCE} allocatable on {nodes} node(s)")
    pools = spec.karpenter.node_pools if spec.karpenter else []
    if any(p.gpu for p in pools):
        return Check("gpus", "warn", "no GPU node now; Karpenter adds one when a GPU pod waits "
                                     "(`kfops gpu test` tries it)")
    if spec.gpu.install != "none":
        stack = "GPU operator" if spec.gpu.install == "operator" else "device plugin"
        return Check("gpus", "warn", f"no node advertises {GPU_RESOURCE} yet; the {stack} "
                                     "does once it runs: check again after `kfops apply`")
    return Check("gpus", "fail", f"no node advertises {GPU_RESOURCE}, and gpu.install is none "
                                 "(the device stack should already run)")


def _gpus(node: dict[str, object]) -> int:
    status = node.get("status")
    allocatable = status.get("allocatable") if isinstance(status, dict) else None
    try:
        return int((allocatable or {}).get(GPU_RESOURCE, 0))
    except (TypeError, ValueError):
        return 0
