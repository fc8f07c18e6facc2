"""`kfops backup` and `kfops restore`: which install, its state directory, and the work."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from kfops.cluster import ApplyProgress, Cluster
from kfops.config import DEFAULT_PLATFORM_FILE
from kfops.objects import ApplySet
from kfops.secrets import state_dir_for
from kfops.upgrade import (
    BackupOptions,
    BackupResult,
    RestoreOptions,
    RestoreResult,
    backup,
    check_backup,
    restore,
)

from ._install_choice import InstallChoice
from ._installs import installed_applyset


def backup_platform(cluster: Cluster, applyset: ApplySet, options: BackupOptions | None = None,
                    progress: ApplyProgress | None = None) -> BackupResult:
    """Back up the install `applyset` on `cluster`: its custom objects, its ApplySet parent,
    the state directory `options.state_dir` (when known) and its database dumps (a Job per
    database, into a PVC kept for backups); the folder, counts per kind and dumps."""
    return backup(cluster, applyset, options, progress)


def backup_install(choice: InstallChoice, connect: Callable[[], Cluster],
                   options: BackupOptions | None = None,
                   progress: ApplyProgress | None = None) -> BackupResult:
    """`kfops backup` of the install a platform file names (its state directory copied too),
    or of the one the cluster holds (`choice.name`, or the only one)."""
    options = options or BackupOptions()
    named = choice.named_applyset()  # a bad platform file stops here, before any request
    if choice.source() == "file" and options.state_dir is None:
        options = dataclasses.replace(
            options, state_dir=state_dir_for(choice.file or DEFAULT_PLATFORM_FILE))
    with connect() as cluster:
        return backup_platform(cluster, named or installed_applyset(cluster, choice.name),
                               options, progress)


def restore_platform(cluster: Cluster, folder: Path, options: RestoreOptions | None = None,
                     progress: ApplyProgress | None = None) -> RestoreResult:
    """Put back the custom objects of the backup in `folder` that `cluster` lacks (never
    overwriting one that exists); with `options.databases`, load the dumps first."""
    return restore(cluster, folder, options, progress)


def restore_install(folder: Path, choice: InstallChoice, connect: Callable[[], Cluster],
                    options: RestoreOptions | None = None,
                    progress: ApplyProgress | None = None) -> RestoreResult:
    """`kfops restore`: the backup must be of the install a platform file or `--name`
    names, when one is named (checked before connecting)."""
    options = options or RestoreOptions()
    named = choice.named_applyset() if choice.source() == "file" else None
    platform = named.platform if named is not None else choice.name
    options = dataclasses.replace(options, platform=platform or options.platform)
    check_backup(folder, options)  # a bad folder stops here, before any request
    with connect() as cluster:
        return restore_platform(cluster, folder, options, progress)
