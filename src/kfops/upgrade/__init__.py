"""Upgrades between Kubeflow releases: what changes (from the renders and small catalog facts),
the gates before any write, backup and restore, and the upgrade order."""

from ._backup import BackupOptions, BackupResult, KindCount, backup
from ._changes import OneWayChange, StorageChange, UpgradeChanges, VersionJump, upgrade_changes
from ._direction import release_direction
from ._dumps import DATABASES, Database, Dump, DumpStore
from ._gates import (
    GATES,
    HEALTHY,
    KUBERNETES,
    REMOVED_CRDS,
    RUNNING_WORK,
    Gate,
    forced,
    health_gate,
    kubernetes_gate,
    removed_crd_gate,
    running_work_gate,
)
from ._immutable import ImmutableChange, immutable_changes
from ._record import UpgradeRecord, read_record, remove_record, write_record
from ._restore import RestoreOptions, RestoreResult, check_backup, check_rollback, restore
from ._steps import (
    delete_for_recreation,
    migrate_storage,
    old_sidecar_workloads,
    refuse_data_changes,
    reset_databases,
    sidecar_tag,
    stop_controllers,
)
from ._verify import Counts, count_user_objects, lost

__all__ = [
    "DATABASES",
    "GATES",
    "HEALTHY",
    "KUBERNETES",
    "REMOVED_CRDS",
    "RUNNING_WORK",
    "BackupOptions",
    "BackupResult",
    "Counts",
    "Database",
    "Dump",
    "DumpStore",
    "Gate",
    "ImmutableChange",
    "KindCount",
    "OneWayChange",
    "RestoreOptions",
    "RestoreResult",
    "StorageChange",
    "UpgradeChanges",
    "UpgradeRecord",
    "VersionJump",
    "backup",
    "check_backup",
    "check_rollback",
    "count_user_objects",
    "delete_for_recreation",
    "forced",
    "health_gate",
    "immutable_changes",
    "kubernetes_gate",
    "lost",
    "migrate_storage",
    "old_sidecar_workloads",
    "read_record",
    "refuse_data_changes",
    "release_direction",
    "remove_record",
    "removed_crd_gate",
    "reset_databases",
    "restore",
    "running_work_gate",
    "sidecar_tag",
    "stop_controllers",
    "upgrade_changes",
    "write_record",
]
