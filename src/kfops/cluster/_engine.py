"""Apply a bundle in one ordered pass; prune what left it; plan; uninstall.

Writes happen only for objects that are missing or differ from the live
object in a field kfops sets, so a re-apply with nothing changed sends no
write request at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kfops.errors import ObjectNotFound, WaitTimeout
from kfops.objects import Identity, describe, identity_of

from ._api import Cluster
from ._compare import needs_apply
from ._diff import changed_fields
from ._failures import FailureWatch
from ._guarded import Guard, write_guarded
from ._inventory import Inventory, inventory_of, parent, read_inventory
from ._lease import LeaseSettings
from ._live import members, snapshot
from ._protect import protection_reason
from ._steps import BundleFile, Step, apply_steps
from ._waits import (
    WORKLOAD_KINDS,
    WaitSettings,
    crds_pending,
    namespace_pending,
    wait_for,
    wait_for_workloads,
    webhooks_pending,
)
from ._webhooks import without_injected_ca


class ApplyProgress(Protocol):
    """What the CLI's display is told during an apply."""

    def step(self, label: str, total: int) -> None:
        """A step with `total` objects starts."""

    def object_done(self, what: str, outcome: str) -> None:
        """One object was created, updated or found unchanged."""

    def waiting(self, what: str, reasons: list[str]) -> None:
        """A wait polls; `reasons` says what is not ready yet."""


class _Quiet:
    def step(self, label: str, total: int) -> None:
        pass

    def object_done(self, what: str, outcome: str) -> None:
        pass

    def waiting(self, what: str, reasons: list[str]) -> None:
        pass


@dataclass(frozen=True)
class Target:
    """Which install on the cluster: the platform name and its ApplySet id."""

    platform: str
    applyset_id: str


@dataclass
class ApplySummary:
    """What an apply did, by object (`kind namespace/name`)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Objects that left the bundle but hold data, with the reason."""


@dataclass(frozen=True)
class ApplyOptions:
    """Choices of an apply."""

    prune: bool = True
    purge_data: bool = False
    wait: bool = True
    waits: WaitSettings = field(default_factory=WaitSettings)
    lease: LeaseSettings = field(default_factory=LeaseSettings)
    """How the install's Lease is held and waited for (kfops.platform takes it)."""


def _learn_kinds(cluster: Cluster, objects: Sequence[dict[str, Any]]) -> None:
    """Know every kind of `objects`: from the bundle's CRDs, or the cluster's (Helm-installed)."""
    cluster.learn_crds([o for o in objects if o["kind"] == "CustomResourceDefinition"])
    for api_version, kind in sorted({(str(o["apiVersion"]), str(o["kind"])) for o in objects}):
        cluster.serves(api_version, kind)


def apply_bundle(cluster: Cluster, files: Sequence[BundleFile], target: Target,
                 options: ApplyOptions | None = None,
                 progress: ApplyProgress | None = None, *,
                 guards: Mapping[Identity, Guard] | None = None) -> ApplySummary:
    """Apply every object in order, wait until healthy, then prune what left the bundle.

    Objects with a guard are written as it decides from a fresh read (_guarded).
    """
    options = options or ApplyOptions()
    progress = progress or _Quiet()
    objects = [obj for f in files for obj in f.objects]
    existing = frozenset(n["metadata"]["name"] for n in cluster.list("v1", "Namespace"))
    _learn_kinds(cluster, objects)
    steps = apply_steps(files, cluster.kinds, existing)
    current = inventory_of(objects)
    previous = read_inventory(cluster, target.platform)
    # The parent lists the union first, so an apply killed before pruning still finds both.
    _record(cluster, target, current.union(previous), previous)
    live = snapshot(cluster, current.union(previous))
    summary = ApplySummary()
    run = _Run(cluster, live, summary, options, progress, guards or {},
               options.waits.failure_watch(cluster))
    gated: list[Step] = []
    for step in steps:
        if step.needs or step.namespaces:
            gated.append(step)
            continue
        _send_when_ready(run, gated)
        gated = []
        _send(run, step)
    _send_when_ready(run, gated)
    if options.wait:
        workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
        wait_for_workloads(cluster, workloads, options.waits,
                           lambda reasons: progress.waiting("workloads", reasons), run.failures)
    if options.prune and previous is not None:
        wanted = {identity_of(o) for o in objects}
        leftovers = [obj for identity, obj in members(live, target.applyset_id).items()
                     if identity not in wanted]
        _prune(cluster, leftovers, options.purge_data, summary)
    remaining = current.union(inventory_of(_kept_objects(live, summary)))
    _record(cluster, target, remaining, current.union(previous))
    return summary


def _record(cluster: Cluster, target: Target, inventory: Inventory,
            recorded: Inventory | None) -> None:
    """Write the parent only when what it records changes (a no-op apply writes nothing)."""
    if inventory != recorded:
        cluster.apply(parent(target.platform, target.applyset_id, inventory))


@dataclass
class _Run:
    """One apply in progress: the client, the live objects found, and what was done."""

    cluster: Cluster
    live: dict[Identity, dict[str, Any]]
    summary: ApplySummary
    options: ApplyOptions
    progress: ApplyProgress
    guards: Mapping[Identity, Guard]
    failures: FailureWatch
    """Stops the waits when a workload sent so far cannot become available."""
    sent: list[dict[str, Any]] = field(default_factory=list)
    """The workloads sent (or found unchanged) so far."""


def _send(run: _Run, step: Step) -> None:
    """Apply the step's objects that differ from the live ones; wait for CRDs it created."""
    run.progress.step(step.label, len(step.objects))
    for original in step.objects:
        obj = without_injected_ca(original)
        what = describe(obj)
        if obj["kind"] in WORKLOAD_KINDS:
            run.sent.append(obj)
        existing = run.live.get(identity_of(obj))
        if not needs_apply(obj, existing):
            run.summary.unchanged.append(what)
            run.progress.object_done(what, "unchanged")
            continue
        outcome = _write(run, obj, existing)
        getattr(run.summary, outcome).append(what)
        run.progress.object_done(what, outcome)
    if step.crds:
        run.cluster.learn_crds(step.objects)
        wait_for(run.options.waits, "CustomResourceDefinitions",
                 lambda: crds_pending(run.cluster, step.objects),
                 lambda reasons: run.progress.waiting(step.label, reasons))


def _write(run: _Run, obj: dict[str, Any], existing: dict[str, Any] | None) -> str:
    guard = run.guards.get(identity_of(obj))
    if guard is not None:
        return write_guarded(run.cluster, obj, guard)
    run.cluster.apply(obj)
    return "created" if existing is None else "updated"


def _send_when_ready(run: _Run, steps: list[Step]) -> None:
    """Send each step once the webhooks it needs answer, in order among the ready ones.

    Steps wait side by side, so one slow webhook does not hold objects whose
    webhooks are already up; a step with nothing to change needs no webhook.
    """
    waiting = []
    for step in steps:
        if any(needs_apply(without_injected_ca(o), run.live.get(identity_of(o)))
               for o in step.objects):
            waiting.append(step)
        else:
            _send(run, step)

    def send_ready() -> list[str]:
        problems: dict[str, list[str]] = {}
        still = []
        for step in waiting:
            for hook in step.needs:
                if hook.name not in problems:
                    problems[hook.name] = webhooks_pending(run.cluster, [hook])
            for namespace in step.namespaces:
                if namespace not in problems:
                    problems[namespace] = namespace_pending(run.cluster, namespace)
            if any(problems[key] for key in _waits_of(step)):
                still.append(step)
            else:
                _send(run, step)
        waiting[:] = still
        if still:
            # A webhook's own Deployment that cannot start would hold the apply to the timeout.
            run.failures.check(run.sent)
        return sorted({reason for step in still for key in _waits_of(step)
                       for reason in problems[key]})

    if waiting:
        wait_for(run.options.waits, "webhooks and namespaces", send_ready,
                 lambda reasons: run.progress.waiting("webhooks", reasons))


def _waits_of(step: Step) -> list[str]:
    return [hook.name for hook in step.needs] + step.namespaces


def _prune(cluster: Cluster, leftovers: list[dict[str, Any]], purge_data: bool,
           summary: ApplySummary) -> None:
    summary.pruned += _delete_unprotected(cluster, sorted(leftovers, key=_deletion_order),
                                          purge_data, summary.kept)


def _delete_unprotected(cluster: Cluster, objects: list[dict[str, Any]], purge_data: bool,
                        kept: list[str]) -> list[str]:
    """Delete `objects` in order, except data (listed in `kept`); what was deleted."""
    deleted = []
    for obj in objects:
        reason = None if purge_data else protection_reason(cluster, obj)
        if reason:
            kept.append(f"{describe(obj)}: {reason}")
            continue
        metadata = obj["metadata"]
        if cluster.delete(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                          metadata.get("namespace")):
            deleted.append(describe(obj))
    return deleted


def _deletion_order(obj: dict[str, Any]) -> int:
    """Workloads before their configuration, namespaces and CRDs last."""
    return {"Namespace": 2, "CustomResourceDefinition": 3}.get(str(obj["kind"]), 0)


def _kept_objects(live: dict[Identity, dict[str, Any]],
                  summary: ApplySummary) -> list[dict[str, Any]]:
    kept = {entry.split(":")[0] for entry in summary.kept}
    return [obj for obj in live.values() if describe(obj) in kept]


@dataclass
class PlanEntry:
    """What apply would do to one object."""

    object: str
    action: str
    """create | update | unchanged | prune | keep."""
    changes: list[str] = field(default_factory=list)
    """Field paths that differ (`-v`), Secret values never shown."""


def plan_bundle(cluster: Cluster, files: Sequence[BundleFile], target: Target) -> list[PlanEntry]:
    """Create, update, unchanged per object (by server-side dry-run) and what would be pruned."""
    objects = [obj for f in files for obj in f.objects]
    cluster.learn_crds([o for o in objects if o["kind"] == "CustomResourceDefinition"])
    current = inventory_of(objects)
    previous = read_inventory(cluster, target.platform)
    live = snapshot(cluster, current.union(previous))
    entries = [_plan_one(cluster, without_injected_ca(obj), live.get(identity_of(obj)))
               for obj in objects]
    if previous is not None:
        wanted = {identity_of(o) for o in objects}
        for identity, obj in sorted(members(live, target.applyset_id).items()):
            if identity in wanted:
                continue
            reason = protection_reason(cluster, obj)
            entries.append(PlanEntry(describe(obj), "keep" if reason else "prune",
                                     [reason] if reason else []))
    return entries


def _plan_one(cluster: Cluster, obj: dict[str, Any], live: dict[str, Any] | None) -> PlanEntry:
    what = describe(obj)
    if live is None:
        return PlanEntry(what, "create")
    if not needs_apply(obj, live):
        return PlanEntry(what, "unchanged")
    try:
        result = cluster.apply(obj, dry_run=True)
    except ObjectNotFound:
        return PlanEntry(what, "create")
    return PlanEntry(what, "update", changed_fields(live, result))


@dataclass
class UninstallSummary:
    """What an uninstall removed, kept, and found stuck."""

    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    """Objects still present after the wait, with their finalizers."""


def uninstall(cluster: Cluster, target: Target, purge_data: bool = False, force: bool = False,
              waits: WaitSettings | None = None) -> UninstallSummary:
    """Delete what the inventory lists, in reverse order; keep data unless purge_data."""
    waits = waits or WaitSettings()
    inventory = read_inventory(cluster, target.platform)
    summary = UninstallSummary()
    if inventory is None:
        return summary
    live = members(snapshot(cluster, inventory), target.applyset_id)
    order = sorted(live.values(), key=_uninstall_order)
    summary.deleted = _delete_unprotected(cluster, order, purge_data, summary.kept)
    gone = [o for o in order if describe(o) in set(summary.deleted)]
    stuck = _finish_deletions(cluster, gone, force, waits, summary)
    kept = [o for o in order if any(k.startswith(describe(o) + ":") for k in summary.kept)]
    if kept or stuck:
        # What is still there stays listed, so the next uninstall (or --force) finds it.
        cluster.apply(parent(target.platform, target.applyset_id, inventory_of(kept + stuck)))
    else:
        cluster.delete("v1", "Secret", f"kfops-{target.platform}", "kube-system")
    return summary


def _uninstall_order(obj: dict[str, Any]) -> int:
    """Reverse apply order: platform objects, then namespaces, then CRDs."""
    kind = str(obj["kind"])
    if kind == "CustomResourceDefinition":
        return 3
    if kind == "Namespace":
        return 2
    return 0


def _finish_deletions(cluster: Cluster, gone: list[dict[str, Any]], force: bool,
                      waits: WaitSettings, summary: UninstallSummary) -> list[dict[str, Any]]:
    """Wait for deleted objects to go; the ones still there (finalizers removed if force)."""
    try:
        wait_for(waits, "deletions", lambda: [why for _, why in _still_there(cluster, gone)])
        return []
    except WaitTimeout:
        pass
    stuck = _still_there(cluster, gone)
    if not force:
        summary.stuck = [why for _, why in stuck]
        return [obj for obj, _ in stuck]
    for obj, why in stuck:
        metadata = obj["metadata"]
        if obj["kind"] != "Namespace":
            cluster.merge_patch(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                                {"metadata": {"finalizers": None}}, metadata.get("namespace"))
        summary.stuck.append(f"{why} (finalizers removed: --force)")
    wait_for(waits, "deletions", lambda: [why for _, why in _still_there(cluster, gone)])
    return []


def _still_there(cluster: Cluster, gone: list[dict[str, Any]]) -> list[tuple[dict[str, Any],
                                                                            str]]:
    """Deleted objects that still exist, each with what holds it."""
    found = []
    for obj in gone:
        metadata = obj["metadata"]
        live = cluster.get(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                           metadata.get("namespace"))
        if live is None:
            continue
        finalizers = live["metadata"].get("finalizers") or []
        if finalizers:
            found.append((obj, f"{describe(obj)}: finalizers {', '.join(finalizers)}"))
        elif obj["kind"] == "Namespace":
            found.append((obj, f"{describe(obj)}: terminating until the objects in it are gone"))
        else:
            found.append((obj, f"{describe(obj)}: still being deleted"))
    return found
