"""kfops: install and operate the Kubeflow platform on Kubernetes from one file.

The library's front door (what the `kfops` command line calls)::

    import kfops

    loaded = kfops.load_platform("platform.yaml")       # ConfigError: YAML path and line
    result = kfops.render_platform(loaded)              # a validated bundle (result.bundle)
    kfops.validate_platform(loaded)                     # the same checks, nothing kept
    with kfops.Cluster.connect() as cluster:            # kubeconfig and context as kubectl's
        plan = kfops.plan_platform(loaded, cluster)     # plan.entries: what apply would change
        kfops.apply_platform(loaded, cluster, kfops.ApplyOptions())
        kfops.platform_status(cluster, kfops.bundle_files(result.bundle))
        saved = kfops.backup_platform(cluster, kfops.platform_applyset(loaded))
        kfops.restore_platform(cluster, saved.folder)   # puts back what the cluster lacks
        kfops.uninstall_platform(cluster, kfops.platform_applyset(loaded))

Every error is a :class:`KfopsError` (`kfops.errors` draws the tree). The
packages below hold the rest of the library; each `__init__` exports what its
users need.
"""

from kfops._version import __version__
from kfops.cluster import ApplyOptions, Cluster
from kfops.config import LoadedPlatform, load_platform
from kfops.errors import KfopsError
from kfops.health import ComponentStatus, platform_status
from kfops.operations import (
    ApplyResult,
    PlanResult,
    apply_platform,
    backup_platform,
    bundle_files,
    plan_platform,
    platform_applyset,
    render_platform,
    restore_platform,
    uninstall_platform,
    validate_platform,
)
from kfops.render import RenderOptions, RenderResult

__all__ = [
    "ApplyOptions",
    "ApplyResult",
    "Cluster",
    "ComponentStatus",
    "KfopsError",
    "LoadedPlatform",
    "PlanResult",
    "RenderOptions",
    "RenderResult",
    "__version__",
    "apply_platform",
    "backup_platform",
    "bundle_files",
    "load_platform",
    "plan_platform",
    "platform_applyset",
    "platform_status",
    "render_platform",
    "restore_platform",
    "uninstall_platform",
    "validate_platform",
]
