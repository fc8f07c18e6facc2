"""`spec.gpu`, `spec.karpenter`, `spec.azure`: GPU nodes and the AKS target."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._types import (
    AksClusterName,
    AzureRegion,
    AzureResourceGroup,
    DnsLabel,
    LabelValue,
    QualifiedName,
    Source,
    Strict,
    matching,
)

DEVICE_PLUGIN_SOURCE = (
    "https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/v0.20.0/deployments/static/"
    "nvidia-device-plugin.yml"
)
#: The GPU operator chart version whose CRD (clusterpolicies.nvidia.com) kfops knows.
GPU_OPERATOR_VERSION = "v26.7.0"
#: Karpenter for Azure: the Helm chart version the AKS script installs, and its CRDs.
KARPENTER_VERSION = "1.14.2"
KARPENTER_CRDS = (
    f"https://raw.githubusercontent.com/Azure/karpenter-provider-azure/v{KARPENTER_VERSION}/"
    "pkg/apis/crds"
)
_KARPENTER_DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
#: Karpenter's own pattern for consolidateAfter and expireAfter (whole s, m and h only).
KarpenterDuration = Annotated[str, matching(
    _KARPENTER_DURATION, "duration", "expected a duration such as 30s, 10m, 720h, or Never")]
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class TimeSlicing(Strict):
    """Share each GPU between several pods."""

    replicas: int = Field(1, ge=1, le=64)
    """How many times each GPU is advertised; 1 disables sharing."""


class Taint(Strict):
    """The taint that keeps non-GPU work off GPU nodes."""

    key: QualifiedName = "nvidia.com/gpu"
    value: LabelValue = "true"
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"

    def toleration(self) -> dict[str, str]:
        """The toleration that matches exactly this taint (pods, PodDefaults, spawner, plugin)."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


class Gpu(Strict):
    """NVIDIA GPUs: the device stack, sharing and the node taint."""

    enabled: bool = False
    install: Literal["operator", "devicePlugin", "none"] = "operator"
    (
        "operator: the NVIDIA GPU operator (Helm, by the admin); "
        "devicePlugin: the static DaemonSet; none: already there."
    )
    source: Source = DEVICE_PLUGIN_SOURCE
    """The device plugin manifest (install: devicePlugin): a URL or a local path."""
    driver: bool = True
    """The operator installs the driver (false where the node image has one, e.g. AKS)."""
    operator_version: str = Field(GPU_OPERATOR_VERSION, alias="operatorVersion",
                                  pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+$")
    """The nvidia/gpu-operator chart version in the Helm command kfops writes."""
    time_slicing: TimeSlicing = Field(TimeSlicing(), alias="timeSlicing")
    taint: Taint = Taint()


class NodePool(Strict):
    """A Karpenter NodePool."""

    name: DnsLabel
    sku_families: list[str] = Field([], alias="skuFamilies")
    """Azure VM SKU families (D, E, NC, ...); empty: any."""
    cpu_limit: int | None = Field(None, alias="cpuLimit", ge=1)
    """Most vCPUs the pool may hold in total."""
    gpu: bool = False
    """NVIDIA SKUs only, tainted with gpu.taint."""
    consolidate_after: KarpenterDuration | None = Field(None, alias="consolidateAfter")
    """How long a node stays empty (GPU pools) or underused before Karpenter removes it."""
    expire_after: KarpenterDuration | None = Field(None, alias="expireAfter")
    """Nodes older than this are replaced (their pods evicted); Never keeps them."""
    image_family: Literal["Ubuntu", "Ubuntu2204", "Ubuntu2404", "AzureLinux"] = Field(
        "Ubuntu2204", alias="imageFamily")
    """The node image of the pool's AKSNodeClass."""

    @field_validator("sku_families")
    @classmethod
    def _families(cls, value: list[str]) -> list[str]:
        for family in value:
            if not re.fullmatch(r"[A-Z]{1,3}", family):
                raise PydanticCustomError(
                    "sku_family", "expected SKU family letters such as D, E or NC, got {family}",
                    {"family": repr(family)},
                )
        return value


class Karpenter(Strict):
    """Node pools Karpenter provisions on demand (aks)."""

    node_pools: list[NodePool] = Field([], alias="nodePools")
    crds: Source = KARPENTER_CRDS
    """Folder (URL or path) holding Karpenter's CRDs, to validate node pools offline."""

    @model_validator(mode="after")
    def _unique_names(self) -> Karpenter:
        names = [p.name for p in self.node_pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise PydanticCustomError(
                "duplicate", "node pool {name} appears twice", {"name": dupes[0]}
            )
        return self


class Azure(Strict):
    """The AKS cluster the bootstrap script creates."""

    subscription_id: str = Field(alias="subscriptionId")
    resource_group: AzureResourceGroup = Field(alias="resourceGroup")
    cluster_name: AksClusterName = Field(alias="clusterName")
    location: AzureRegion
    """The region's programmatic name (japaneast, westeurope)."""

    @field_validator("subscription_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        if not _UUID.fullmatch(value):
            raise PydanticCustomError("uuid", "expected a subscription ID (a UUID)")
        return value


def duration_seconds(value: str) -> float:
    """Seconds of a Karpenter duration such as 1h30m; Never is infinite."""
    if value == "Never":
        return float("inf")
    units = {"s": 1, "m": 60, "h": 3600}
    return float(sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)(s|m|h)", value)))
