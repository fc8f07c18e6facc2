"""The composition root: every feature of the platform file in one render, apply, plan."""

from ._apply import (
    ApplyResult,
    PlanResult,
    apply_platform,
    applyset_of,
    bundle_files,
    changes,
    plan_platform,
    platform_applyset,
    uninstall_platform,
)
from ._backup import backup_install, backup_platform, restore_install, restore_platform
from ._bundle_apply import (
    BundleApplyResult,
    BundlePlanResult,
    BundleSource,
    OnDiskBundle,
    apply_on_disk,
    plan_on_disk,
)
from ._doctor import doctor_install, rendered_facts
from ._gitops import with_gitops_files
from ._gpu_test import gpu_test, gpu_test_image
from ._images import platform_airgap, platform_images
from ._install_choice import InstallChoice, install_status
from ._installs import installed_applyset
from ._offline_kit import KitProgress, OfflineKit, create_offline_kit
from ._preflight import preflight
from ._render import render_platform, validate_platform
from ._store_move import StoreMoveResult, move_store_data
from ._upgrade import UpgradeOptions, UpgradePreview, UpgradeResult, gate_lines
from ._write import bundle_folder, check_bundle, write_rendered

__all__ = [
    "ApplyResult",
    "BundleApplyResult",
    "BundlePlanResult",
    "BundleSource",
    "InstallChoice",
    "KitProgress",
    "OfflineKit",
    "OnDiskBundle",
    "PlanResult",
    "StoreMoveResult",
    "UpgradeOptions",
    "UpgradePreview",
    "UpgradeResult",
    "apply_on_disk",
    "apply_platform",
    "applyset_of",
    "backup_install",
    "backup_platform",
    "bundle_files",
    "bundle_folder",
    "changes",
    "check_bundle",
    "create_offline_kit",
    "doctor_install",
    "gate_lines",
    "gpu_test",
    "gpu_test_image",
    "install_status",
    "installed_applyset",
    "move_store_data",
    "plan_on_disk",
    "plan_platform",
    "platform_airgap",
    "platform_applyset",
    "platform_images",
    "preflight",
    "render_platform",
    "rendered_facts",
    "restore_install",
    "restore_platform",
    "uninstall_platform",
    "validate_platform",
    "with_gitops_files",
    "write_rendered",
]
