"""Apply a bundle in one ordered pass; prune what left it; plan; uninstall.

Writes happen only for objects that are missing or differ from the live
object in a field kfops sets, so a re-apply with nothing changed sends no
write request at all. What prune and uninstall delete is decided in _prune,
by the same function for `plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kfops.errors import (
    AnotherInstall,
    ClusterError,
    DeletionsFailed,
    InputError,
    ObjectNotFound,
    Unavailable,
    WaitTimeout,
)
from kfops.objects import (
    PARENT_NAMESPACE,
    PART_OF,
    WORKLOAD_KINDS,
    ApplySet,
    Identity,
    describe,
    identity_of,
)

from ._api import Cluster
from ._compare import needs_apply
from ._diff import changed_fields
from ._failures import FailureWatch
from ._guarded import Guard, write_guarded
from ._inventory import (
    Inventory,
    Workload,
    installs,
    inventory_of,
    parent,
    read_inventory,
    with_workloads,
)
from ._lease import LeaseSettings
from ._live import Membership, members, snapshot
from ._prune import Decision, PruneRules, decide, held_back
from ._steps import BundleFile, Step, apply_steps
from ._waits import (
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


class QuietProgress:
    """An ApplyProgress that shows nothing."""

    def step(self, label: str, total: int) -> None:
        pass

    def object_done(self, what: str, outcome: str) -> None:
        pass

    def waiting(self, what: str, reasons: list[str]) -> None:
        pass


@dataclass
class ApplySummary:
    """What an apply did, by object (`kind namespace/name`)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Objects that left the bundle but stay, with the reason (data, or what they hold)."""
    also_deleted: list[str] = field(default_factory=list)
    """Pruned namespaces, Profiles and CRDs that took objects kfops did not apply along
    (--purge-foreign), each naming them."""
    ignored: list[str] = field(default_factory=list)
    """Objects carrying this install's ApplySet label that are not its members: left alone."""
    taken_over: list[str] = field(default_factory=list)
    """Installs whose objects this one took over (--adopt)."""


@dataclass(frozen=True)
class ApplyOptions:
    """Choices of an apply (and of the plan that shows it)."""

    prune: bool = True
    purge_data: bool = False
    purge_foreign: bool = False
    """Let prune delete namespaces, Profiles and CRDs holding objects kfops did not apply."""
    adopt: tuple[str, ...] = ()
    """Other kfops installs on the cluster (by platform name) to take over on purpose."""
    wait: bool = True
    waits: WaitSettings = field(default_factory=WaitSettings)
    lease: LeaseSettings = field(default_factory=LeaseSettings)
    """How the install's Lease is held and waited for (kfops.operations takes it)."""
    release: str = ""
    """The Kubeflow release the bundle installs, recorded on the parent."""

    @property
    def rules(self) -> PruneRules:
        """What prune may delete."""
        return PruneRules(self.purge_data, self.purge_foreign)


def _learn_kinds(cluster: Cluster, objects: Sequence[dict[str, Any]]) -> None:
    """Know every kind of `objects`: from the bundle's CRDs, or the cluster's (Helm-installed)."""
    cluster.learn_crds([o for o in objects if o["kind"] == "CustomResourceDefinition"])
    for api_version, kind in sorted({(str(o["apiVersion"]), str(o["kind"])) for o in objects}):
        cluster.serves(api_version, kind)


@dataclass(frozen=True)
class _Claim:
    """What this install owns before the apply: its parent's record and the installs it
    takes over."""

    previous: Inventory | None
    adopting: tuple[ApplySet, ...]


def _claim(cluster: Cluster, applyset: ApplySet, adopt: Iterable[str]) -> _Claim:
    """This install's record, with the installs it adopts; AnotherInstall for any other.

    An install whose id this one's parent already lists was adopted by an apply
    that stopped before removing its parent: the adoption is simply finished.
    """
    own = read_inventory(cluster, applyset.platform)
    others = [t for t in installs(cluster) if t.platform != applyset.platform]
    unknown = sorted(set(adopt) - {t.platform for t in others})
    if unknown:
        raise InputError(f"--adopt {', '.join(unknown)}: no other kfops install of that name "
                         "on this cluster (it holds: "
                         f"{', '.join(t.platform for t in others) or 'none but this one'})")
    adopting = tuple(t for t in others
                     if t.platform in set(adopt) or (own and t.id in own.ids))
    strangers = [t for t in others if t not in adopting]
    if strangers:
        raise AnotherInstall(_another_install(strangers))
    previous = own
    for other in adopting:
        theirs = read_inventory(cluster, other.platform)
        previous = theirs.union(previous) if theirs else previous
    return _Claim(previous, adopting)


def _another_install(strangers: list[ApplySet]) -> str:
    names = ", ".join(t.platform for t in strangers)
    first = strangers[0].platform
    parents = ", ".join(f"Secret {PARENT_NAMESPACE}/{t.parent_name}" for t in strangers)
    return (f"this cluster holds another kfops install: {names} (ApplySet parent {parents}); "
            "a cluster holds one kfops install, so nothing was changed.\n"
            f"  renamed metadata.name from {first}? Take its objects over on purpose: "
            f"`kfops plan --adopt {first}` shows what changes (what your file no longer has "
            f"is pruned), `kfops apply --adopt {first}` does it.\n"
            "  another platform? Use its platform file, or remove it first "
            f"(`kfops uninstall --name {first}`).")


def _current(files: Sequence[BundleFile], applyset: ApplySet, release: str = "") -> Inventory:
    """What this apply installs, with the workloads `status` checks by component."""
    objects = [obj for f in files for obj in f.objects]
    workloads: list[Workload] = [
        (f.component, str(o["apiVersion"]), str(o["kind"]), str(o["metadata"]["namespace"]),
         str(o["metadata"]["name"]))
        for f in files for o in f.objects if o["kind"] in WORKLOAD_KINDS]
    return with_workloads(inventory_of(objects, [applyset.id]), workloads, release)


def apply_bundle(cluster: Cluster, files: Sequence[BundleFile], applyset: ApplySet,
                 options: ApplyOptions | None = None,
                 progress: ApplyProgress | None = None, *,
                 guards: Mapping[Identity, Guard] | None = None) -> ApplySummary:
    """Apply every object in order, wait until healthy, then prune what left the bundle.

    Objects with a guard are written as it decides from a fresh read (_guarded).
    """
    options = options or ApplyOptions()
    progress = progress or QuietProgress()
    objects = [obj for f in files for obj in f.objects]
    claim = _claim(cluster, applyset, options.adopt)
    existing = frozenset(n["metadata"]["name"] for n in cluster.list("v1", "Namespace"))
    _learn_kinds(cluster, objects)
    steps = apply_steps(files, cluster.kinds, existing)
    current, previous = _current(files, applyset, options.release), claim.previous
    both = current.union(previous)
    # The parent lists the union first (ids of adopted installs included), so an apply
    # killed before pruning still finds both; only then do adopted parents go.
    _record(cluster, applyset, both, previous)
    summary = ApplySummary()
    for other in claim.adopting:
        cluster.delete("v1", "Secret", other.parent_name, PARENT_NAMESPACE)
        summary.taken_over.append(other.platform)
    live = snapshot(cluster, both)
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
    membership = members(live, both)
    summary.ignored = [str(d) for d in membership.ignored]
    remaining = both
    if options.prune and previous is not None:
        remaining = _prune(cluster, objects, membership, current, options, summary=summary)
    _record(cluster, applyset, remaining, both)
    return summary


def prune_bundle(cluster: Cluster, files: Sequence[BundleFile], applyset: ApplySet,
                 options: ApplyOptions | None = None) -> ApplySummary:
    """Only the prune of an apply of `files` (which were applied before): what left the
    bundle is deleted or kept, and the parent then records what stays."""
    options = options or ApplyOptions()
    objects = [obj for f in files for obj in f.objects]
    claim = _claim(cluster, applyset, options.adopt)
    current = _current(files, applyset, options.release)
    both = current.union(claim.previous)
    membership = members(snapshot(cluster, both), both)
    summary = ApplySummary(ignored=[str(d) for d in membership.ignored])
    remaining = _prune(cluster, objects, membership, current, options, summary=summary)
    _record(cluster, applyset, remaining, claim.previous)
    return summary


def _prune(cluster: Cluster, objects: Sequence[dict[str, Any]], membership: Membership,
           current: Inventory, options: ApplyOptions, *, summary: ApplySummary) -> Inventory:
    """Carry out the prune decisions; the inventory of what stays."""
    decisions = prune_decisions(cluster, objects, membership, options.rules)
    _carry_out(cluster, decisions, summary.pruned, summary.kept, summary.also_deleted)
    return current.union(_inventory_of([d.obj for d in decisions if not d.delete]))


def prune_decisions(cluster: Cluster, objects: Sequence[dict[str, Any]],
                    membership: Membership, rules: PruneRules) -> list[Decision]:
    """Delete or keep each member that left the bundle: what plan shows and apply does."""
    wanted = {identity_of(o) for o in objects}
    leaving = [obj for identity, obj in membership.members.items() if identity not in wanted]
    return decide(cluster, leaving, membership.members, objects, rules)


def _carry_out(cluster: Cluster, decisions: Sequence[Decision], deleted: list[str],
               kept: list[str], also_deleted: list[str]) -> None:
    """Delete what was decided, in the decided order; list what was deleted and kept.

    A refused deletion does not stop the others: each is tried, but those that would
    take a refused object along (held_back); then DeletionsFailed names every failure.
    An API server still unavailable after the retries stops them all: the rest would
    meet it too (the first failure is raised as it is).
    """
    failures: list[ClusterError] = []
    left: list[dict[str, Any]] = []  # objects that could not be deleted, or were held back
    held: list[str] = []
    for index, decision in enumerate(decisions):
        if not decision.delete:
            kept.append(str(decision))
            continue
        obj = decision.obj
        why = held_back(cluster, obj, left)
        if why is not None:
            held.append(f"{decision.what}: {why}")
            left.append(obj)
            continue
        metadata = obj["metadata"]
        try:
            # Already gone (deleted with its owner) counts as deleted: the plan said so.
            cluster.delete(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                           metadata.get("namespace"))
        except Unavailable as error:
            if not failures:
                raise
            failures.append(error)
            rest = sum(1 for d in decisions[index + 1:] if d.delete)
            if rest:
                held.append(f"{rest} more: the API server stopped answering")
            break
        except ClusterError as error:
            failures.append(error)
            left.append(obj)
            continue
        deleted.append(decision.what)
        if decision.reason:
            also_deleted.append(str(decision))
    if failures:
        raise DeletionsFailed(failures, held)


def _inventory_of(objects: Sequence[dict[str, Any]]) -> Inventory:
    """The record of objects that stay, under the ApplySet ids they carry."""
    ids = {(o["metadata"].get("labels") or {}).get(PART_OF, "") for o in objects}
    return inventory_of(objects, ids - {""})


def _record(cluster: Cluster, applyset: ApplySet, inventory: Inventory,
            recorded: Inventory | None) -> None:
    """Write the parent only when what it records changes (a no-op apply writes nothing)."""
    if inventory != recorded:
        cluster.apply(parent(applyset, inventory))


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
        if existing is not None and pending_changes(run.cluster, obj, existing) is None:
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


@dataclass
class PlanEntry:
    """What apply would do to one object."""

    object: str
    action: str
    """create | update | unchanged | prune | keep | ignore | adopt | replace (a controller
    writes it anew once kfops deletes it) | recreate (deleted and created again: an
    immutable field changes)."""
    changes: list[str] = field(default_factory=list)
    """Field paths that differ (`-v`), Secret values never shown; for prune, keep and
    ignore, why."""


def plan_bundle(cluster: Cluster, files: Sequence[BundleFile], applyset: ApplySet,
                options: ApplyOptions | None = None, *,
                recreate: Mapping[Identity, str] | None = None) -> list[PlanEntry]:
    """What apply with `options` would do: create, update, unchanged per object (by
    server-side dry-run), the installs it adopts, and what it prunes and keeps.

    Objects in `recreate` (an upgrade changes their immutable fields, named) are
    deleted and created again: the API server would refuse their update.
    """
    recreate = recreate or {}
    options = options or ApplyOptions()
    objects = [obj for f in files for obj in f.objects]
    claim = _claim(cluster, applyset, options.adopt)
    cluster.learn_crds([o for o in objects if o["kind"] == "CustomResourceDefinition"])
    both = _current(files, applyset).union(claim.previous)
    live = snapshot(cluster, both)
    entries = [PlanEntry(describe(obj), "recreate",
                         [f"{recreate[identity_of(obj)]} cannot change: deleted and created again"])
               if identity_of(obj) in recreate and identity_of(obj) in live else
               _plan_one(cluster, without_injected_ca(obj), live.get(identity_of(obj)))
               for obj in objects]
    entries += [PlanEntry(f"install {t.platform} (Secret {PARENT_NAMESPACE}/{t.parent_name})",
                          "adopt", ["its objects become this install's; what the platform "
                                    "no longer has is pruned"]) for t in claim.adopting]
    membership = members(live, both)
    if options.prune and claim.previous is not None:
        entries += [PlanEntry(d.what, "prune" if d.delete else "keep",
                              [d.reason] if d.reason else [])
                    for d in prune_decisions(cluster, objects, membership, options.rules)]
    entries += [PlanEntry(d.what, "ignore", [d.reason]) for d in membership.ignored]
    return entries


def _plan_one(cluster: Cluster, obj: dict[str, Any], live: dict[str, Any] | None) -> PlanEntry:
    what = describe(obj)
    if live is None:
        return PlanEntry(what, "create")
    changes = pending_changes(cluster, obj, live)
    if changes is None:
        return PlanEntry(what, "unchanged")
    return PlanEntry(what, "update", changes)


def pending_changes(cluster: Cluster, obj: dict[str, Any],
                    live: dict[str, Any]) -> list[str] | None:
    """The fields applying `obj` would change in `live`, or None when it would change none.

    The local comparison settles most objects. What it cannot, the API server
    settles with a dry run: it stores quantities in canonical form (`2000m` as
    `2`), leaves out zero values of `omitempty` fields (`value: ""`,
    `readOnly: false`) and keeps what controllers filled in, so an object can
    differ from what kfops sends and still be exactly what a write would store.
    """
    if not needs_apply(obj, live):
        return None
    try:
        result = cluster.apply(obj, dry_run=True)
    except ObjectNotFound:
        return []  # gone since it was read: a create
    return changed_fields(live, result) or None


@dataclass
class UninstallSummary:
    """What an uninstall removed, kept, and found stuck."""

    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    """Objects still present after the wait, with their finalizers."""
    also_deleted: list[str] = field(default_factory=list)
    """Namespaces, Profiles and CRDs that took objects kfops did not apply along
    (--purge-foreign), each naming them."""
    ignored: list[str] = field(default_factory=list)
    """Objects carrying the install's ApplySet label that are not its members: left alone."""


def uninstall(cluster: Cluster, applyset: ApplySet, purge_data: bool = False, force: bool = False,
              waits: WaitSettings | None = None, *,
              purge_foreign: bool = False) -> UninstallSummary:
    """Delete the install's members in reverse order; keep data unless purge_data, and
    namespaces, Profiles and CRDs holding objects kfops did not apply unless purge_foreign."""
    waits = waits or WaitSettings()
    inventory = read_inventory(cluster, applyset.platform)
    summary = UninstallSummary()
    if inventory is None:
        return summary
    membership = members(snapshot(cluster, inventory), inventory)
    summary.ignored = [str(d) for d in membership.ignored]
    decisions = decide(cluster, membership.members.values(), membership.members, [],
                       PruneRules(purge_data, purge_foreign))
    _carry_out(cluster, decisions, summary.deleted, summary.kept, summary.also_deleted)
    gone = [d.obj for d in decisions if d.delete]
    stuck = _finish_deletions(cluster, gone, force, waits, summary)
    kept = [d.obj for d in decisions if not d.delete]
    if kept or stuck:
        # What is still there stays listed, so the next uninstall (or --force) finds it.
        cluster.apply(parent(applyset, _inventory_of(kept + stuck)))
    else:
        cluster.delete("v1", "Secret", applyset.parent_name, PARENT_NAMESPACE)
    return summary


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
