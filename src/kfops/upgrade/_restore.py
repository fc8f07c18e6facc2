"""`kfops restore`: put back the custom objects a backup holds that the cluster lacks.

A live object is never overwritten: one that exists is counted as kept.
Cluster-scoped objects go first, Profiles before the rest (the profile
controller makes each Profile's namespace); namespaced objects follow, a
namespace at a time, once it exists: a Profile's namespace is waited for, any
other missing namespace is reported and its objects skipped (kfops does not
make namespaces that no Profile or platform file asks for). A run whose saved
status says it ended is not created again (it would run again). With
`databases`, the dumps are loaded first, by a Job per database, so custom
objects that refer to database rows (recurring runs, experiments) find them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfops.cluster import (
    ApplyProgress,
    Cluster,
    QuietProgress,
    WaitSettings,
    namespace_pending,
    wait_for,
)
from kfops.errors import AlreadyExists, ClusterError, InputError
from kfops.objects import describe, is_profile

from ._custom_objects import finished, for_create
from ._dumps import DATABASES, Database, database_job, live_database, loaded, remove_job, run_job
from ._folder import Manifest, read_manifest, read_objects

Outcome = str
"""restored, kept, finished or skipped."""


@dataclass(frozen=True)
class RestoreOptions:
    """What to restore, and from which install."""

    platform: str | None = None
    """The install named (-f or --name): a backup of another one is refused."""
    databases: bool = False
    waits: WaitSettings = field(default_factory=WaitSettings)


@dataclass
class RestoreResult:
    """What restore did with each object of the backup (each `kind namespace/name`)."""

    folder: Path
    platform: str
    restored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """On the cluster already: left as it is."""
    finished: list[str] = field(default_factory=list)
    """Runs whose saved status says they ended: not started again."""
    skipped: list[str] = field(default_factory=list)
    """`object: why` (its kind is not served, its namespace does not exist)."""
    databases: list[str] = field(default_factory=list)
    """The databases loaded from their dumps."""
    counts: dict[str, dict[Outcome, int]] = field(default_factory=dict)
    """Per kind (`Kind.group`): how many objects had each outcome."""

    def record(self, kind: str, outcome: Outcome, entry: str) -> None:
        """Count one object's outcome."""
        getattr(self, outcome).append(entry)
        per_kind = self.counts.setdefault(kind, {})
        per_kind[outcome] = per_kind.get(outcome, 0) + 1


@dataclass(frozen=True)
class _Saved:
    kind: str
    """`Kind.group`."""
    namespaced: bool
    obj: dict[str, Any]


def restore(cluster: Cluster, folder: Path, options: RestoreOptions | None = None,
            progress: ApplyProgress | None = None) -> RestoreResult:
    """Restore the backup in `folder` onto `cluster`.

    The folder is read and checked whole before the first request (InputError
    when it is not a kfops backup, is another install's, or lacks the dumps
    asked for).
    """
    options = options or RestoreOptions()
    manifest, saved, dumps = _read(folder, options)
    run = _Restore(cluster, options.waits, RestoreResult(folder, manifest.platform),
                   progress or QuietProgress())
    if dumps:
        run.load_databases(manifest, dumps)
    ordered = sorted(saved, key=lambda s: (s.namespaced, not is_profile(s.obj)))
    run.cluster_scoped([s for s in ordered if not s.namespaced])
    run.namespaced([s for s in ordered if s.namespaced])
    return run.result


def check_backup(folder: Path, options: RestoreOptions | None = None) -> str:
    """Read the backup in `folder` as restore would, without a cluster; its platform.

    InputError when it is not a kfops backup, is another install's than
    `options.platform`, or lacks the dumps `options.databases` asks for.
    """
    return _read(folder, options or RestoreOptions())[0].platform


def _read(folder: Path,
          options: RestoreOptions) -> tuple[Manifest, list[_Saved], list[Database]]:
    manifest = read_manifest(folder)
    if options.platform is not None and manifest.platform != options.platform:
        raise InputError(f"{folder} is a backup of the install {manifest.platform}, not of "
                         f"{options.platform}")
    return (manifest, _saved_objects(manifest),
            _dump_files(manifest) if options.databases else [])


def _saved_objects(manifest: Manifest) -> list[_Saved]:
    saved = []
    for kind, entry in manifest.kinds.items():
        namespaced = bool(entry.get("namespaced"))
        saved += [_Saved(kind, namespaced, obj) for obj in read_objects(manifest, kind)]
    return saved


def _dump_files(manifest: Manifest) -> list[Database]:
    dumps = manifest.dumps
    if dumps is None:
        raise InputError(f"--databases: {manifest.folder} was taken without database dumps "
                         "(--no-databases)")
    known = {db.name: db for db in DATABASES}
    found = []
    for entry in dumps.get("files") or []:
        database = known.get(str(entry.get("database")))
        if database is None:
            raise InputError(f"{manifest.folder}: dumps: unknown database "
                             f"{entry.get('database')!r} (kfops knows "
                             f"{', '.join(known)})")
        found.append(database)
    return found


class _Restore:
    """One restore: the cluster, the waits, what happened so far, the progress display."""

    def __init__(self, cluster: Cluster, waits: WaitSettings, result: RestoreResult,
                 progress: ApplyProgress) -> None:
        self.cluster, self.waits, self.result, self.progress = cluster, waits, result, progress
        self.profiles: set[str] = set()
        """Profiles restored or found: the namespaces their controller makes."""

    def load_databases(self, manifest: Manifest, dumps: list[Database]) -> None:
        """Load each dump with a Job, one at a time (the claim may attach to one node only)."""
        cluster, waits, result, progress = self.cluster, self.waits, self.result, self.progress
        name = str(manifest.document.get("name") or manifest.folder.name)
        claim = str((manifest.dumps or {}).get("claim"))
        progress.step("loading databases", len(dumps))
        for database in dumps:
            deployment = live_database(cluster, database)
            if deployment is None:
                raise ClusterError(f"cannot load the {database.name} dump: Deployment "
                                   f"{database.namespace}/{database.deployment} does not exist "
                                   "(apply the platform first)")
            if cluster.get("v1", "PersistentVolumeClaim", claim, database.namespace) is None:
                raise ClusterError(f"cannot load the {database.name} dump: the claim "
                                   f"{database.namespace}/{claim} that held it is gone")
            job = database_job(database, deployment, direction="load", platform=manifest.platform,
                               backup=name, claim=claim, deadline=int(waits.timeout) + 60)
            outcome = run_job(cluster, job, waits,
                              functools.partial(progress.waiting, database.name))
            if not loaded(outcome, database):
                raise ClusterError(f"Job {database.namespace}/{outcome.job} succeeded but did not "
                                   f"report loading {database.dump_file}", kind="Job",
                                   namespace=database.namespace, name=outcome.job)
            remove_job(cluster, outcome, database.namespace)
            result.databases.append(database.name)
            progress.object_done(database.name, "loaded")

    def cluster_scoped(self, items: list[_Saved]) -> None:
        """Restore cluster-scoped objects (in the order given: Profiles first)."""
        self.progress.step("restoring cluster-scoped objects", len(items))
        for item in items:
            self.restore_one(item)

    def namespaced(self, items: list[_Saved]) -> None:
        """Restore namespaced objects, a namespace at a time once it exists."""
        cluster, waits, result, progress = self.cluster, self.waits, self.result, self.progress
        by_namespace: dict[str, list[_Saved]] = {}
        for item in items:
            namespace = str(item.obj["metadata"].get("namespace") or "")
            by_namespace.setdefault(namespace, []).append(item)
        progress.step("restoring namespaced objects", len(items))
        for namespace, members in sorted(by_namespace.items()):
            missing = _namespace_missing(cluster, namespace, namespace in self.profiles, waits,
                                         functools.partial(progress.waiting, namespace))
            for item in members:
                if missing:
                    result.record(item.kind, "skipped", f"{describe(item.obj)}: {missing}")
                    progress.object_done(describe(item.obj), "skipped")
                else:
                    self.restore_one(item)

    def restore_one(self, item: _Saved) -> None:
        """Create one object unless it exists (kept), ended (finished) or is not served."""
        result, progress = self.result, self.progress
        obj, what = item.obj, describe(item.obj)
        outcome = _outcome(self.cluster, obj)
        if is_profile(obj) and outcome in ("restored", "kept"):
            self.profiles.add(str(obj["metadata"]["name"]))
        result.record(item.kind, outcome, what if outcome != "skipped" else
                      f"{what}: its kind is not served by this cluster in {obj['apiVersion']}")
        progress.object_done(what, outcome)


def _namespace_missing(cluster: Cluster, namespace: str, made_by_profile: bool,
                       waits: WaitSettings, on_poll: Callable[[list[str]], None]) -> str:
    """"" when objects can go into `namespace`; else why not (after waiting for a
    Profile's namespace)."""
    reasons = namespace_pending(cluster, namespace)
    if not reasons:
        return ""
    if not made_by_profile:
        return f"namespace {namespace} does not exist and no Profile of the backup makes it"
    wait_for(waits, f"namespace {namespace}", lambda: namespace_pending(cluster, namespace),
             on_poll)
    return ""


def _outcome(cluster: Cluster, obj: dict[str, Any]) -> Outcome:
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    if not cluster.serves(api_version, kind):
        return "skipped"
    metadata = obj["metadata"]
    if cluster.get(api_version, kind, metadata["name"], metadata.get("namespace")) is not None:
        return "kept"
    if finished(obj):
        return "finished"
    try:
        cluster.create(for_create(obj))
    except AlreadyExists:
        return "kept"  # made since it was looked at (a controller, another admin)
    return "restored"


def check_rollback(folder: Path, platform: str, release: str) -> None:
    """The backup in `folder` can take `platform` back to `release`: a backup of that install
    and that release, with its database dumps; InputError otherwise (nothing read from or
    written to the cluster)."""
    check_backup(folder, RestoreOptions(platform=platform, databases=True))
    taken = read_manifest(folder).document.get("release")
    if taken != release:
        raise InputError(f"{folder} is a backup of release {taken or 'unknown'}, not of "
                         f"{release}: a downgrade restores the backup taken on the release "
                         "it goes back to")
