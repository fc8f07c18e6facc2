"""Environment presets: the starter files of each target, and the target's own checks."""

from ._preflight import host_checks, kubernetes_check
from ._starters import starter_text, write_starter

__all__ = ["host_checks", "kubernetes_check", "starter_text", "write_starter"]
