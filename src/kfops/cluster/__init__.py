"""The Kubernetes client boundary and the apply engine (lightkube inside, kfops errors out)."""

from ._api import FIELD_MANAGER, Cluster
from ._kinds import KindInfo
from ._retry import RetryPolicy

__all__ = ["FIELD_MANAGER", "Cluster", "KindInfo", "RetryPolicy"]
