"""The composition root: every feature of the platform file in one render, apply, plan."""

from ._apply import (
    ApplyResult,
    PlanResult,
    adopt_cluster_secrets,
    apply_platform,
    bundle_files,
    bundle_from_disk,
    changes,
    missing_requirements,
    plan_platform,
    platform_target,
    target_of,
    uninstall_platform,
)
from ._installs import installed_target
from ._preflight import preflight
from ._render import render_platform

__all__ = [
    "ApplyResult",
    "PlanResult",
    "adopt_cluster_secrets",
    "apply_platform",
    "bundle_files",
    "bundle_from_disk",
    "changes",
    "installed_target",
    "missing_requirements",
    "plan_platform",
    "platform_target",
    "preflight",
    "render_platform",
    "target_of",
    "uninstall_platform",
]
