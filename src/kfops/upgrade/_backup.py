"""`kfops backup`: custom objects, inventory, state and database dumps of one install."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kfops._version import __version__
from kfops.cluster import (
    ApplyProgress,
    Cluster,
    QuietProgress,
    WaitSettings,
    installed_release,
    read_inventory,
)
from kfops.errors import ClusterError
from kfops.objects import PARENT_NAMESPACE, ApplySet

from ._custom_objects import KindObjects, install_kinds, read_kind, strip
from ._dumps import (
    DATABASES,
    Dump,
    DumpStore,
    database_job,
    dumped,
    ensure_claim,
    live_database,
    remove_job,
    run_job,
)
from ._folder import (
    BACKUP_API_VERSION,
    BACKUP_KIND,
    INVENTORY,
    MANIFEST,
    OBJECTS,
    STATE,
    copy_state,
    create_folder,
    default_folder,
    write_json,
)


@dataclass(frozen=True)
class KindCount:
    """How many objects of one kind the backup holds, and how many it left to controllers."""

    kind: str
    """`Kind.group`."""
    api_version: str
    saved: int
    owned: int
    """Left out: owned by another object, whose controller makes them again."""


@dataclass(frozen=True)
class BackupResult:
    """What a backup wrote: the folder, the counts per kind and the dumps."""

    folder: Path
    platform: str
    release: str | None
    kinds: tuple[KindCount, ...]
    dumps: tuple[Dump, ...]
    absent_databases: tuple[str, ...]
    """Databases the platform does not run (no Deployment), so not dumped."""
    state_files: tuple[str, ...]
    """Files of the state directory copied (none when it is not known or empty)."""

    @property
    def objects(self) -> int:
        """Custom objects saved, of every kind."""
        return sum(count.saved for count in self.kinds)


@dataclass(frozen=True)
class BackupOptions:
    """Where the backup goes and what it takes."""

    out: Path | None = None
    """The folder (created 0700; must not exist or be empty). None: ./kfops-backup-<platform>-
    <UTC timestamp>."""
    state_dir: Path | None = None
    """The install's state directory to copy (None: not known, e.g. no platform file)."""
    databases: bool = True
    store: DumpStore = field(default_factory=DumpStore)
    waits: WaitSettings = field(default_factory=WaitSettings)


def backup(cluster: Cluster, applyset: ApplySet, options: BackupOptions | None = None,
           progress: ApplyProgress | None = None) -> BackupResult:
    """Back up the install `applyset` on `cluster` into a new folder.

    Order: the parent (what kfops applied), every custom object of the
    install's CRDs, the state directory, the database dumps; the manifest last,
    so a folder without one is a backup that did not finish.
    """
    options = options or BackupOptions()
    progress = progress or QuietProgress()
    started = datetime.now(UTC)
    parent = _parent(cluster, applyset)
    folder = options.out or default_folder(applyset.platform, started)
    create_folder(folder)
    write_json(folder / INVENTORY, strip(parent))
    saved = _save_objects(cluster, applyset, folder, progress)
    state_files = tuple(copy_state(options.state_dir, folder / STATE)) \
        if options.state_dir is not None and options.state_dir.is_dir() else ()
    dumps, absent = _dump_databases(cluster, applyset, folder.name, options, progress) \
        if options.databases else ((), ())
    result = BackupResult(folder, applyset.platform, _release(cluster, applyset),
                          tuple(KindCount(s.kind.key, s.kind.api_version, len(s.objects),
                                          s.owned) for s in saved),
                          dumps, absent, state_files)
    write_json(folder / MANIFEST, _manifest(result, saved, applyset, started, options))
    return result


def _parent(cluster: Cluster, applyset: ApplySet) -> dict[str, Any]:
    parent = cluster.get("v1", "Secret", applyset.parent_name, PARENT_NAMESPACE)
    if parent is None:
        raise ClusterError(f"no kfops install {applyset.platform} on this cluster (no Secret "
                           f"{PARENT_NAMESPACE}/{applyset.parent_name}): nothing to back up")
    return parent


def _release(cluster: Cluster, applyset: ApplySet) -> str | None:
    """The release the install's parent records (None before kfops recorded it)."""
    return installed_release(cluster, applyset.platform) or None


def _ids(cluster: Cluster, applyset: ApplySet) -> frozenset[str]:
    """Every ApplySet id whose members belong to the install (an adopted install's too)."""
    inventory = read_inventory(cluster, applyset.platform)
    return frozenset({applyset.id, *(inventory.ids if inventory is not None else ())})


def _save_objects(cluster: Cluster, applyset: ApplySet, folder: Path,
                  progress: ApplyProgress) -> list[KindObjects]:
    kinds = install_kinds(cluster, _ids(cluster, applyset))
    progress.step("saving custom objects", len(kinds))
    saved = []
    for kind in kinds:
        found = read_kind(cluster, kind)
        write_json(folder / OBJECTS / f"{kind.key}.json",
                   {"apiVersion": "v1", "kind": "List", "items": found.objects})
        progress.object_done(kind.key, f"{len(found.objects)} saved")
        saved.append(found)
    return saved


def _dump_databases(cluster: Cluster, applyset: ApplySet, backup_name: str,
                    options: BackupOptions,
                    progress: ApplyProgress) -> tuple[tuple[Dump, ...], tuple[str, ...]]:
    running = [(db, d) for db in DATABASES if (d := live_database(cluster, db)) is not None]
    absent = tuple(db.name for db in DATABASES if db not in {r[0] for r in running})
    progress.step("dumping databases", len(running))
    dumps = []
    for database, deployment in running:
        ensure_claim(cluster, database.namespace, applyset.platform, options.store)
        job = database_job(database, deployment, direction="dump", platform=applyset.platform,
                           backup=backup_name, claim=options.store.claim,
                           deadline=int(options.waits.timeout) + 60)
        outcome = run_job(cluster, job, options.waits,
                          functools.partial(progress.waiting, database.name))
        size, checksum, schemas = dumped(outcome, database)
        remove_job(cluster, outcome, database.namespace)
        dumps.append(Dump(database.name, database.deployment, database.namespace,
                          job["spec"]["template"]["spec"]["containers"][0]["image"],
                          options.store.claim, f"{backup_name}/{database.dump_file}", size,
                          checksum, schemas))
        progress.object_done(database.name, "dumped")
    return tuple(dumps), absent


def _manifest(result: BackupResult, saved: list[KindObjects], applyset: ApplySet,
              started: datetime, options: BackupOptions) -> dict[str, Any]:
    return {
        "apiVersion": BACKUP_API_VERSION, "kind": BACKUP_KIND,
        "name": result.folder.name,
        "platform": result.platform,
        "applysetId": applyset.id,
        "release": result.release,
        "kfopsVersion": __version__,
        "created": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inventory": INVENTORY,
        "state": {"folder": STATE, "files": list(result.state_files)}
        if options.state_dir is not None else None,
        "objects": {s.kind.key: {
            "apiVersion": s.kind.api_version, "namespaced": s.kind.namespaced,
            "crd": s.kind.crd, "file": f"{OBJECTS}/{s.kind.key}.json",
            "saved": len(s.objects),
            "ownedLeftOut": s.owned,
        } for s in saved},
        "status": "kept in each saved object as a record; restore cannot write it (a create "
                  "ignores status) and does not create again a run whose status says it ended",
        "dumps": {
            "claim": options.store.claim,
            "files": [d.manifest() for d in result.dumps],
            "absent": list(result.absent_databases),
            "note": "the dumps stay in the claim (kfops reads the cluster through its API "
                    "only and cannot copy files out of a pod)",
        } if options.databases else None,
    }
