"""The GPU features of a platform, in the order they shape the bundle."""

from __future__ import annotations

from kfops.render import Contribution

from ._device_plugin import DevicePlugin
from ._helm_crds import HelmCrds
from ._karpenter import NodePools
from ._operator import GpuOperator
from ._spawner import SpawnerTolerations


def gpu_features() -> tuple[Contribution, ...]:
    """Device plugin or operator, the spawner's toleration group, Karpenter's node pools, the
    CRDs Helm installs for them."""
    return (DevicePlugin(), GpuOperator(), SpawnerTolerations(), NodePools(), HelmCrds())
