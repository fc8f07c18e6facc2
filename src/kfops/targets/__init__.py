"""Environment presets and features: starter files, ingress, load balancer, storage, AKS."""

from ._aks_script import NodeProvisioning, aks_script
from ._features import environment_features, final_checks
from ._preflight import INOTIFY_LIMITS, environment_checks
from ._starters import starter_text, write_starter

__all__ = ["INOTIFY_LIMITS", "NodeProvisioning", "aks_script", "environment_checks",
           "environment_features", "final_checks", "starter_text", "write_starter"]
