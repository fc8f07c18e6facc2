"""An apply that changes the Kubeflow release: its plan section, gates, and the upgrade's
steps around the staged apply."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfops.catalog import release_order
from kfops.cluster import (
    ApplyOptions,
    BundleFile,
    Cluster,
    WaitSettings,
    installed_platform,
    prune_bundle,
    recorded_workloads,
    rollout_restart,
)
from kfops.errors import OperationError
from kfops.health import platform_status
from kfops.objects import WORKLOAD_KINDS, ApplySet, describe, identity_of, is_profile
from kfops.render import Bundle
from kfops.upgrade import (
    BackupOptions,
    Counts,
    Gate,
    RestoreOptions,
    UpgradeChanges,
    UpgradeRecord,
    backup,
    count_user_objects,
    delete_for_recreation,
    forced,
    health_gate,
    kubernetes_gate,
    lost,
    migrate_storage,
    old_sidecar_workloads,
    read_record,
    refuse_data_changes,
    release_direction,
    remove_record,
    removed_crd_gate,
    reset_databases,
    restore,
    running_work_gate,
    sidecar_tag,
    stop_controllers,
    upgrade_changes,
    write_record,
)

from ._store_move import StoreMoveResult, move_store_data


@dataclass(frozen=True)
class UpgradeOptions:
    """Choices of an apply that changes the release."""

    force_gates: tuple[str, ...] = ()
    """Gates passed on purpose (their names)."""
    restart_user_workloads: bool = False
    """Restart notebooks and other workloads in profile namespaces whose Istio sidecar is
    older than the new release's (it interrupts them)."""
    confirm: Callable[[UpgradePreview], bool] | None = None
    """Shown the upgrade section once the gates passed, before any write; False stops it."""
    backup: bool = True
    """Back the install up (kfops backup) before the first change."""
    backup_dir: Path | None = None
    """Where (None: ./kfops-backup-<platform>-<UTC timestamp>)."""
    restore_from: Path | None = None
    """A backup taken on the older release being applied: the downgrade it allows resets the
    databases and restores the backup into them."""


@dataclass
class UpgradePreview:
    """The upgrade section of a plan: what changes, and the gates' verdicts."""

    changes: UpgradeChanges
    gates: list[Gate]
    resuming: UpgradeRecord | None = None
    """The record of an upgrade an earlier run started (gates are not checked again)."""

    @property
    def blocking(self) -> list[Gate]:
        """The gates that stop the upgrade."""
        return [g for g in self.gates if not g.passed]

    @property
    def downgrade(self) -> bool:
        """Whether the change goes back to an older release (from a backup)."""
        return release_order(self.changes.target) < release_order(self.changes.installed)


@dataclass
class UpgradeResult:
    """What the upgrade's own steps did, and its verification."""

    installed: str
    target: str
    backup: str = ""
    """The backup taken before the first change ("" with --no-backup)."""
    stopped: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    """A downgrade's database claims, deleted to be created empty for the backup's dumps."""
    restored: str = ""
    """A downgrade's restore of its backup."""
    store: str = ""
    """What happened to the pipelines' artifacts (copied between in-cluster stores, and
    verified; or why nothing was to be copied)."""
    pruned: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    counts_before: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)


def bundle_release(bundle: Bundle) -> str:
    """The release version a rendered bundle installs (from its lock)."""
    return lock_release(bundle.lock)


def lock_release(lock: dict[str, Any]) -> str:
    """The release version the bundle of `lock` installs."""
    return str((lock.get("release") or {}).get("version") or "")


def _components(bundle: Bundle) -> list[str]:
    """The components with workloads (those an install's record names)."""
    return list(dict.fromkeys(items[0].component for items in bundle.files.values()
                              if any(i.obj["kind"] in WORKLOAD_KINDS for i in items)))


def upgrade_preview(cluster: Cluster, bundle: Bundle,
                    options: UpgradeOptions | None = None) -> UpgradePreview | None:
    """The upgrade section when applying `bundle` changes the installed release (or resumes
    an upgrade); None for an apply within the installed release.

    InputError for a downgrade or an upgrade that skips a required release.
    """
    options = options or UpgradeOptions()
    applyset = ApplySet(str(bundle.lock["platform"]))
    installed = installed_platform(cluster, applyset)
    if installed is None:
        return None
    record = read_record(cluster, applyset.platform)
    target = bundle_release(bundle)
    direction = release_direction(installed.release, target,
                                  restoring=options.restore_from is not None)
    if record is None and direction == "same":
        return None
    objects = [o.obj for o in bundle.objects]
    changes = upgrade_changes(record.installed if record else installed.release, target,
                              installed.members, objects,
                              live_components=installed.components,
                              new_components=_components(bundle))
    if record is not None or direction == "downgrade":
        return UpgradePreview(changes, [], record)  # a rollback is not gated: it repairs
    gates = [kubernetes_gate(cluster, target), health_gate(_problems(cluster, applyset)),
             running_work_gate(cluster), removed_crd_gate(cluster, changes.crds_removed)]
    return UpgradePreview(changes, forced(gates, options.force_gates))


def _moved(result: StoreMoveResult) -> str:
    summary = result.summary
    if summary is None:
        return f"artifacts not copied: {result.reason}"
    return (f"artifacts copied and verified: {summary.objects} objects, {summary.bytes} bytes "
            f"({summary.copied} copied, {summary.skipped} already there; Job {summary.job})")


def gate_lines(gates: Sequence[Gate]) -> list[str]:
    """Each gate as the plan and a refused apply print it: verdict, evidence, what to do."""
    lines = []
    for gate in gates:
        mark = "forced" if gate.forced else "pass" if gate.passed else "BLOCKS"
        lines.append(f"  gate {gate.name}: {mark}: {gate.summary}")
        if not gate.passed or gate.forced:
            lines += [f"      {item}" for item in gate.evidence]
            if gate.fix:
                lines.append(f"      fix: {gate.fix} (or --force-gate {gate.name})"
                             if not gate.forced else f"      forced on purpose: {gate.fix}")
    return lines


def _problems(cluster: Cluster, applyset: ApplySet) -> list[str]:
    return [reason for status in platform_status(cluster, recorded_workloads(cluster, applyset))
            for reason in status.reasons]


Notice = Callable[[str], None]


@dataclass
class Upgrading:
    """The upgrade's steps before and after the staged apply of the new release."""

    cluster: Cluster
    preview: UpgradePreview
    options: UpgradeOptions
    apply_options: ApplyOptions
    notice: Notice
    result: UpgradeResult = field(init=False)

    def __post_init__(self) -> None:
        changes = self.preview.changes
        self.result = UpgradeResult(changes.installed, changes.target)

    def before(self, bundle: Bundle, state_dir: Path | None) -> None:
        """Back up, record the upgrade, stop the controllers being replaced, delete what
        must be created anew; nothing is written when a claim would have to go."""
        changes, platform = self.preview.changes, str(bundle.lock["platform"])
        refuse_data_changes(changes.immutable)
        record = self.preview.resuming
        if record is None:
            backup = (str(self.options.restore_from) if self.preview.downgrade
                      else self._backup(ApplySet(platform), state_dir))
            record = UpgradeRecord(changes.installed, changes.target, backup,
                                   count_user_objects(self.cluster).as_dict(),
                                   tuple(g.name for g in self.preview.gates if g.forced))
            write_record(self.cluster, platform, record)
            if self.preview.downgrade:
                self.result.reset = reset_databases(self.cluster, self.notice)
        self.result.counts_before = dict(record.counts)
        self.result.backup = record.backup
        for replacement in changes.replaced:
            self.result.stopped += stop_controllers(self.cluster, replacement.stop_first,
                                                    self.notice)
        self.result.recreated = delete_for_recreation(self.cluster, changes.immutable,
                                                      self.notice)

    def _backup(self, applyset: ApplySet, state_dir: Path | None) -> str:
        """The backup's folder ("" when not asked for)."""
        if not self.options.backup:
            return ""
        taken = backup(self.cluster, applyset, BackupOptions(
            out=self.options.backup_dir, state_dir=state_dir, waits=self.apply_options.waits))
        self.notice(f"backup {taken.folder}")
        return str(taken.folder)

    def after(self, bundle: Bundle, files: Sequence[BundleFile],
              applyset: ApplySet) -> UpgradeResult:
        """Migrate stored versions, restart old sidecars, prune, verify, end the record."""
        objects = [o.obj for o in bundle.objects]
        crds = [str(o["metadata"]["name"]) for o in objects
                if o["kind"] == "CustomResourceDefinition"]
        self.result.migrated = migrate_storage(self.cluster, crds, self.notice)
        self.result.restarted = self._restart_sidecars(objects)
        if self.preview.downgrade:
            self.result.restored = self._restore(applyset)
        else:
            # before prune: the old store still runs, its claim stays after either way
            self.result.store = _moved(move_store_data(self.cluster, objects,
                                                       self.apply_options.waits))
        if self.apply_options.prune:
            summary = prune_bundle(self.cluster, files, applyset, self.apply_options)
            self.result.pruned, self.result.kept = summary.pruned, summary.kept
        self._verify(applyset)
        remove_record(self.cluster, applyset.platform)
        return self.result

    def _restore(self, applyset: ApplySet) -> str:
        """Load the backup's dumps into the databases created anew, and put back the custom
        objects that are missing."""
        done = restore(self.cluster, Path(self.result.backup), RestoreOptions(
            platform=applyset.platform, databases=True, waits=self.apply_options.waits))
        databases = ", ".join(done.databases) or "none"
        return (f"restored {self.result.backup}: databases {databases}, "
                f"{len(done.restored)} objects put back, {len(done.kept)} already there")

    def _restart_sidecars(self, objects: list[dict[str, Any]]) -> list[str]:
        tag = sidecar_tag(objects)
        if tag is None:
            return []
        namespaces = {identity_of(o)[2] for o in objects} - {""}
        if self.options.restart_user_workloads:
            namespaces |= {str(p["metadata"]["name"]) for p in
                           self.cluster.list("kubeflow.org/v1", "Profile")
                           if is_profile(p)}
        restarted = []
        waits: WaitSettings = self.apply_options.waits
        for workload in old_sidecar_workloads(self.cluster, namespaces, tag):
            rollout_restart(self.cluster, workload, waits)
            restarted.append(describe(workload))
            self.notice(describe(workload))
        return restarted

    def _verify(self, applyset: ApplySet) -> None:
        """Every workload available and the counts of users' objects kept, or OperationError
        (the record stays: the next run resumes and verifies again)."""
        self.result.counts_after = count_user_objects(self.cluster).as_dict()
        # a rollback goes back to the backup's objects: fewer than before it is expected
        before = Counts(tuple(self.result.counts_before.items()))
        after = Counts(tuple(self.result.counts_after.items()))
        missing = [] if self.preview.downgrade else lost(before, after)
        problems = _problems(self.cluster, applyset)
        if missing or problems:
            raise OperationError(
                f"the upgrade to {self.result.target} was applied but does not verify: "
                + "; ".join([*(f"fewer {m}" for m in missing), *problems])
                + ". Run `kfops apply` again to resume; `kfops status` shows the workloads.")
