"""Environment presets and features: starter files, ingress, load balancer, storage."""

from ._features import environment_features, final_checks
from ._starters import starter_text, write_starter

__all__ = ["environment_features", "final_checks", "starter_text", "write_starter"]
