"""Upgrades between Kubeflow releases: what changes (from the renders and small catalog facts),
the gates before any write, backup and restore, and the upgrade order."""

from ._backup import RELEASE_ANNOTATION, BackupOptions, BackupResult, KindCount, backup
from ._dumps import DATABASES, Database, Dump, DumpStore
from ._restore import RestoreOptions, RestoreResult, check_backup, restore

__all__ = [
    "DATABASES",
    "RELEASE_ANNOTATION",
    "BackupOptions",
    "BackupResult",
    "Database",
    "Dump",
    "DumpStore",
    "KindCount",
    "RestoreOptions",
    "RestoreResult",
    "backup",
    "check_backup",
    "restore",
]
