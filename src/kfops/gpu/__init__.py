"""GPU nodes: NVIDIA device plugin or GPU operator, time-slicing, Karpenter pools, GPU test."""

from ._features import gpu_features
from ._helm_crds import crd_requirements
from ._karpenter import node_class, node_pool
from ._operator import INSTALL_FILE, VALUES_FILE, install_command, operator_values
from ._preflight import gpu_checks
from ._smoke_test import TEST_IMAGE, GpuTest, GpuTestReport, gpu_test_job
from ._spawner import toleration_group
from ._time_slicing import time_slicing_config

__all__ = [
    "INSTALL_FILE",
    "TEST_IMAGE",
    "VALUES_FILE",
    "GpuTest",
    "GpuTestReport",
    "crd_requirements",
    "gpu_checks",
    "gpu_features",
    "gpu_test_job",
    "install_command",
    "node_class",
    "node_pool",
    "operator_values",
    "time_slicing_config",
    "toleration_group",
]
