"""Whether a release change is an upgrade kfops can make in one step."""

from __future__ import annotations

from kfops.catalog import release_line, release_order, releases_between
from kfops.errors import InputError


def release_direction(installed: str, target: str, *, restoring: bool = False) -> str:
    """`same`, `upgrade`, or `downgrade` (only when `restoring` a backup of `target`);
    InputError for a downgrade without one, or an upgrade that skips a release the
    catalog requires."""
    if installed == target or not installed:
        return "same"
    if release_order(target) < release_order(installed):
        if restoring:
            return "downgrade"
        raise InputError(
            f"release {target} is older than the installed {installed}: a downgrade is refused. "
            "Databases migrated by the newer release (MySQL 8.4's data directory, Kubeflow "
            "Pipelines' schema) cannot be opened by the older one; rolling back means restoring "
            "the backup taken before the upgrade: --restore-from DIR (docs/upgrades.md, "
            "rolling back).")
    between = releases_between(release_line(installed), release_line(target))
    if between:
        raise InputError(
            f"release {target} cannot be reached from the installed {installed} in one step: "
            f"upgrade to {between[0]} first (set spec.release.version to a {between[0]} "
            "release, apply, then apply this one)")
    return "upgrade"
