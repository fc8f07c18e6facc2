"""`spec.karpenter.nodePools`: Karpenter NodePools and their AKSNodeClasses (target aks).

Karpenter itself (and its CRDs) is installed with Helm by `kfops aks script`,
or comes with AKS node auto-provisioning; kfops validates the pools against
Karpenter's CRDs (`karpenter.crds`) and an apply stops while they are missing.
"""

from __future__ import annotations

from typing import Any

from kfops.catalog import KARPENTER_CRDS
from kfops.config import Gpu, Karpenter, NodePool, duration_seconds
from kfops.errors import RenderError
from kfops.render import EditableBundle, Phase, RenderContext

COMPONENT = "karpenter"
NODE_CLASS_GROUP = "karpenter.azure.com"
GPU_MANUFACTURER = "karpenter.azure.com/sku-gpu-manufacturer"
SKU_FAMILY = "karpenter.azure.com/sku-family"
#: GPU pools keep nodes that run something: only empty ones go, after this long.
GPU_CONSOLIDATE_AFTER = "10m"
SHORT_EXPIRY_SECONDS = 24 * 3600
_INSTALL_HINT = ("install Karpenter first: `kfops aks script` writes the commands (or "
                 "`--node-provisioning auto` for AKS node auto-provisioning)")


def node_pool(pool: NodePool, gpu: Gpu) -> dict[str, Any]:
    """The karpenter.sh/v1 NodePool of `pool` (its node class has the same name)."""
    requirements = [
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
    ]
    if pool.sku_families:
        requirements.append({"key": SKU_FAMILY, "operator": "In",
                             "values": list(pool.sku_families)})
    template: dict[str, Any] = {
        "nodeClassRef": {"group": NODE_CLASS_GROUP, "kind": "AKSNodeClass", "name": pool.name},
        "requirements": requirements,
    }
    if pool.gpu:
        requirements.append({"key": GPU_MANUFACTURER, "operator": "In", "values": ["nvidia"]})
        # Karpenter does not taint GPU nodes itself.
        template["taints"] = [{"key": gpu.taint.key, "value": gpu.taint.value,
                               "effect": gpu.taint.effect}]
    else:
        # Without this, Karpenter may answer a GPU pod with a GPU VM from this pool: untainted,
        # consolidated when underused, with AKS's driver beside the operator's.
        requirements.append({"key": GPU_MANUFACTURER, "operator": "DoesNotExist"})
    if pool.expire_after:
        template["expireAfter"] = pool.expire_after
    spec: dict[str, Any] = {"template": {"spec": template}, "disruption": _disruption(pool)}
    if pool.cpu_limit:
        spec["limits"] = {"cpu": str(pool.cpu_limit)}
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool",
            "metadata": {"name": pool.name}, "spec": spec}


def node_class(pool: NodePool, gpu: Gpu) -> dict[str, Any]:
    """The karpenter.azure.com/v1beta1 AKSNodeClass of `pool`."""
    spec: dict[str, Any] = {"imageFamily": pool.image_family}
    if pool.gpu:
        # The operator's driver and AKS's would both install: nodes must get exactly one.
        operator_driver = gpu.install == "operator" and gpu.driver
        spec["gpu"] = {"mode": "None" if operator_driver else "Driver"}
    return {"apiVersion": "karpenter.azure.com/v1beta1", "kind": "AKSNodeClass",
            "metadata": {"name": pool.name}, "spec": spec}


def _disruption(pool: NodePool) -> dict[str, Any]:
    if pool.gpu:
        return {"consolidationPolicy": "WhenEmpty",
                "consolidateAfter": pool.consolidate_after or GPU_CONSOLIDATE_AFTER}
    return {"consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": pool.consolidate_after or "0s"}


def karpenter_crds(karpenter: Karpenter | None) -> list[dict[str, str]]:
    """Karpenter's CRDs, which an apply needs first when the platform has node pools."""
    if karpenter is None or not karpenter.node_pools:
        return []
    return [{"crd": crd, "why": "spec.karpenter.nodePools", "fix": _INSTALL_HINT}
            for _, crd in KARPENTER_CRDS]


class NodePools:
    """A NodePool and an AKSNodeClass per `karpenter.nodePools` entry (their CRDs: HelmCrds)."""

    name = COMPONENT
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add the pools, validated against Karpenter's CRDs from `karpenter.crds`."""
        spec = context.loaded.platform.spec
        if spec.karpenter is None or not spec.karpenter.node_pools:
            return
        for file, _ in KARPENTER_CRDS:
            source = context.sources.join(spec.karpenter.crds, file)
            if not bundle.validate_with(file, context.sources.read(source), source):
                raise RenderError(f"{source} (spec.karpenter.crds) holds no "
                                  "CustomResourceDefinition")
        for pool in spec.karpenter.node_pools:
            why = "spec.karpenter.nodePools"
            bundle.add(node_class(pool, spec.gpu), COMPONENT, why, prereq=True)
            bundle.add(node_pool(pool, spec.gpu), COMPONENT, why, prereq=True)
            if (pool.gpu and pool.expire_after
                    and duration_seconds(pool.expire_after) < SHORT_EXPIRY_SECONDS):
                bundle.warn(f"node pool {pool.name}: expireAfter {pool.expire_after} is under "
                            "24h; Karpenter drains expired GPU nodes, stopping training that "
                            "runs on them")
