"""The Kubernetes client boundary and the apply engine (lightkube inside, kfops errors out)."""

from ._api import FIELD_MANAGER, Cluster
from ._engine import (
    ApplyOptions,
    ApplyProgress,
    ApplySummary,
    PlanEntry,
    Target,
    UninstallSummary,
    apply_bundle,
    plan_bundle,
    uninstall,
)
from ._kinds import KindInfo
from ._pods import container_waiting, pods_of
from ._retry import RetryPolicy
from ._steps import BundleFile
from ._waits import WaitSettings

__all__ = [
    "FIELD_MANAGER",
    "ApplyOptions",
    "ApplyProgress",
    "ApplySummary",
    "BundleFile",
    "Cluster",
    "KindInfo",
    "PlanEntry",
    "RetryPolicy",
    "Target",
    "UninstallSummary",
    "WaitSettings",
    "apply_bundle",
    "container_waiting",
    "plan_bundle",
    "pods_of",
    "uninstall",
]
