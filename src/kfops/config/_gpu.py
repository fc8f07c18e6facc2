"""`spec.gpu`, `spec.karpenter`, `spec.azure`: GPU nodes and the AKS target."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._types import DnsLabel, Duration, DurationOrNever, Strict

DEVICE_PLUGIN_SOURCE = (
    "https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/v0.20.0/deployments/static/"
    "nvidia-device-plugin.yml"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class TimeSlicing(Strict):
    """Share each GPU between several pods."""

    replicas: int = Field(1, ge=1, le=64)
    """How many times each GPU is advertised; 1 disables sharing."""


class Taint(Strict):
    """The taint that keeps non-GPU work off GPU nodes."""

    key: str = "nvidia.com/gpu"
    value: str = "true"
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class Gpu(Strict):
    """NVIDIA GPUs: the device stack, sharing and the node taint."""

    enabled: bool = False
    install: Literal["operator", "devicePlugin", "none"] = "operator"
    (
        "operator: the NVIDIA GPU operator (Helm, by the admin); "
        "devicePlugin: the static DaemonSet; none: already there."
    )
    source: str = DEVICE_PLUGIN_SOURCE
    """The device plugin manifest (install: devicePlugin): a URL or a local path."""
    driver: bool = True
    """The operator installs the driver (false where the node image has one, e.g. AKS)."""
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
    consolidate_after: Duration | None = Field(None, alias="consolidateAfter")
    expire_after: DurationOrNever | None = Field(None, alias="expireAfter")

    @field_validator("sku_families")
    @classmethod
    def _families(cls, value: list[str]) -> list[str]:
        for family in value:
            if not re.match(r"^[A-Z]{1,3}$", family):
                raise PydanticCustomError(
                    "sku_family", "expected SKU family letters such as D, E or NC, got {family}",
                    {"family": repr(family)},
                )
        return value


class Karpenter(Strict):
    """Node pools Karpenter provisions on demand (aks)."""

    node_pools: list[NodePool] = Field([], alias="nodePools")

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
    resource_group: str = Field(alias="resourceGroup", min_length=1, max_length=90)
    cluster_name: str = Field(alias="clusterName", min_length=1, max_length=63)
    location: str = Field(min_length=1)

    @field_validator("subscription_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        if not _UUID.match(value):
            raise PydanticCustomError("uuid", "expected a subscription ID (a UUID)")
        return value
