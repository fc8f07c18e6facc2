"""GPU nodes: NVIDIA device plugin or GPU operator, time-slicing, Karpenter pools, GPU test."""

from ._features import gpu_features
from ._helm_crds import crd_requirements
from ._karpenter import node_pool
from ._operator import INSTALL_FILE, VALUES_FILE, install_command
from ._preflight import gpu_checks
from ._smoke_test import TEST_IMAGE, GpuTest, GpuTestReport

__all__ = [
    "INSTALL_FILE",
    "TEST_IMAGE",
    "VALUES_FILE",
    "GpuTest",
    "GpuTestReport",
    "crd_requirements",
    "gpu_checks",
    "gpu_features",
    "install_command",
    "node_pool",
]
