"""Apply, plan and uninstall a platform: render, adopt the cluster's secrets, hand over to the
engine, holding the install's Lease for the changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfops.cluster import (
    ApplyOptions,
    ApplyProgress,
    ApplySummary,
    BundleFile,
    Cluster,
    GeneratedValueHeld,
    Guard,
    InstallLease,
    LeaseNotice,
    LeaseSettings,
    PlanEntry,
    UninstallSummary,
    WaitSettings,
    apply_bundle,
    keep_values,
    plan_bundle,
    uninstall,
)
from kfops.config import LoadedPlatform, UserEntry
from kfops.errors import InputError, MissingPrerequisite, OperationError, UpgradeBlocked
from kfops.gpu import crd_requirements
from kfops.identity import DexUsers, live_user_guards
from kfops.objects import ApplySet, Identity, identity_of, secret_value
from kfops.render import (
    LOCK,
    Bundle,
    GeneratedValue,
    RenderOptions,
    RenderResult,
    ReviewedBundle,
    read_bundle_files,
)
from kfops.secrets import StateDir, state_dir_for
from kfops.storage import replace_stale, stale_store_objects
from kfops.upgrade import check_rollback

from ._render import render_platform
from ._upgrade import (
    UpgradeOptions,
    UpgradePreview,
    UpgradeResult,
    Upgrading,
    bundle_release,
    gate_lines,
    upgrade_preview,
)


@dataclass
class ApplyResult:
    """The render that was applied, what the apply did, and which secrets were adopted."""

    render: RenderResult
    summary: ApplySummary
    adopted: list[str]
    not_rotated: list[str] = field(default_factory=list)
    """Generated values `--rotate-secrets` kept (database passwords), by name."""
    replaced: list[str] = field(default_factory=list)
    """Controller-written objects deleted for their controller to write anew (a new
    object store in the profile namespaces)."""
    upgrade: UpgradeResult | None = None
    """What the upgrade's own steps did, when the apply changed the release."""


def bundle_files(bundle: Bundle) -> list[BundleFile]:
    """The bundle's files as the engine takes them (stage order, then component order)."""
    return [BundleFile(path, items[0].component, tuple(i.obj for i in items))
            for path, items in bundle.files.items() if items]


def bundle_from_disk(folder: Path, reviewed: ReviewedBundle | None = None,
                     ) -> tuple[list[BundleFile], ApplySet]:
    """A written bundle's files and install: without its Secrets for status and uninstall
    without a platform file; with them, as `reviewed` found them, for apply and plan."""
    if reviewed is None:
        files, lock = read_bundle_files(folder, secrets=False)
    else:
        files, lock = read_bundle_files(folder, secrets_dir=reviewed.secrets_dir,
                                        paths=reviewed.paths)
    platform = lock.get("platform")
    if not isinstance(platform, str) or not platform:
        raise InputError(f"{folder / LOCK} names no platform: not a bundle kfops render wrote")
    return ([BundleFile(path, component, tuple(objects)) for path, component, objects in files],
            ApplySet(platform))


def platform_applyset(loaded: LoadedPlatform) -> ApplySet:
    """The install a platform file describes (no render needed: only its name counts)."""
    return ApplySet(loaded.platform.metadata.name)


def applyset_of(bundle: Bundle) -> ApplySet:
    """The install a bundle belongs to (its platform name and ApplySet)."""
    return ApplySet(str(bundle.lock["platform"]))


APPLY_PASSES = 3
"""Applies of one run: another install may create a generated Secret first (then adopt)."""


def apply_platform(loaded: LoadedPlatform, cluster: Cluster, options: ApplyOptions, *,
                   render_options: RenderOptions | None = None, rotate_secrets: bool = False,
                   progress: ApplyProgress | None = None,
                   on_wait: LeaseNotice | None = None,
                   upgrade: UpgradeOptions | None = None) -> ApplyResult:
    """Render, then, holding the install's Lease, adopt what the cluster holds and apply.

    The first render checks the platform before anything is written, the Lease
    included. Holding the Lease, the live users and generated values are read
    again and the render is redone when they changed (another run finished
    meanwhile). A generated Secret is only ever created, never overwritten: if
    another install created it first, its value is adopted and the apply runs
    again. `rotate_secrets` generates every value anew instead, but database
    passwords (a database keeps the one it was initialised with).

    An apply that changes the installed release is an upgrade: it needs `upgrade`
    (the CLI asks first), passes the gates before any write, and runs the
    upgrade's steps around the staged apply (kfops.operations._upgrade).
    """
    renders = _Renders(loaded, cluster, render_options or RenderOptions(), rotate_secrets)
    result = renders.current()
    refuse_missing(missing_requirements(cluster, result.bundle.lock))
    preview = upgrade_preview(cluster, result.bundle, upgrade)
    if preview is not None:
        _check_upgrade(preview, upgrade, loaded.platform.metadata.name)
    options = dataclasses.replace(options, release=bundle_release(result.bundle))
    with InstallLease(cluster, loaded.platform.metadata.name, options.lease, on_wait) as lease:
        not_rotated = renders.rotate() if rotate_secrets else []
        watched = Watched(progress, lease)
        upgrading = None if preview is None else Upgrading(
            cluster, preview, upgrade or UpgradeOptions(), options,
            lambda what: watched.object_done(what, "upgrade"))
        if upgrading is not None:
            upgrading.before(result.bundle, _state_path(loaded, renders.options))
        for _ in range(APPLY_PASSES):
            result = renders.current()
            bundle = result.bundle
            files = bundle_files(bundle)
            staged = options if upgrading is None else dataclasses.replace(options, prune=False)
            try:
                summary = apply_bundle(cluster, files, applyset_of(bundle), staged,
                                       watched, guards=value_guards(
                                           cluster, [o.obj for o in bundle.objects],
                                           bundle.generated, rotate_secrets))
            except GeneratedValueHeld:
                continue  # created by another install first: the next pass adopts its value
            lease.check()
            # after the apply: the profile controller now runs with the new store's hook
            stale = stale_store_objects(cluster, [o.obj for o in bundle.objects])
            replaced = replace_stale(cluster, stale)
            done = None if upgrading is None else upgrading.after(bundle, files,
                                                                    applyset_of(bundle))
            if done is not None:
                summary.pruned += done.pruned
                summary.kept += done.kept
            return ApplyResult(result, summary, renders.adopted, not_rotated, replaced, done)
    raise OperationError(f"generated Secrets kept being created by another install "
                         f"({APPLY_PASSES} passes); run apply again")


def _check_upgrade(preview: UpgradePreview, upgrade: UpgradeOptions | None,
                   platform: str) -> None:
    """An upgrade goes on only when asked for, when every gate passed (or was forced), and a
    downgrade only from a backup of the release it goes back to."""
    changes = preview.changes
    if upgrade is None:
        raise InputError(f"this apply upgrades the platform from {changes.installed} to "
                         f"{changes.target}; nothing was changed. `kfops plan` shows the "
                         "upgrade; `kfops apply` asks before it starts (--yes to skip).")
    if preview.downgrade and preview.resuming is None and upgrade.restore_from is not None:
        check_rollback(upgrade.restore_from, platform, changes.target)
    if preview.blocking:
        raise UpgradeBlocked(
            f"the upgrade from {changes.installed} to {changes.target} stopped before any "
            "change:\n" + "\n".join(gate_lines(preview.blocking)))
    if upgrade.confirm is not None and not upgrade.confirm(preview):
        raise OperationError(f"the upgrade to {changes.target} was not confirmed; nothing "
                             "was changed")


def value_guards(cluster: Cluster, objects: list[dict[str, Any]],
                 generated: Sequence[GeneratedValue], rotating: bool) -> dict[Identity, Guard]:
    """Generated values are created once, never overwritten (but those being rotated);
    Dex keeps the users added live meanwhile."""
    guards = live_user_guards(cluster, objects)
    keys: dict[Identity, set[str]] = {}
    for value in generated:
        if not (rotating and value.rotatable):
            keys.setdefault(value.secret, set()).add(value.key)
    guards.update({secret: keep_values(frozenset(k)) for secret, k in keys.items()})
    return guards


@dataclass
class _Renders:
    """The render of one run, redone only when what it read from the cluster changed."""

    loaded: LoadedPlatform
    cluster: Cluster
    options: RenderOptions
    rotating: bool
    adopted: list[str] = field(default_factory=list)
    _live: tuple[UserEntry, ...] | None = None
    _result: RenderResult | None = None

    def current(self) -> RenderResult:
        """The render with the live users and the generated values the cluster holds now
        (when rotating, only those rotation keeps).

        Users added with `kfops user add --live` are rendered beside the file's,
        so an apply keeps them.
        """
        live = tuple(DexUsers(self.cluster).live_entries())
        if self._result is None or live != self._live:
            self._render(live)
        adopted = adopt_cluster_secrets(self.cluster, self._bundle, self._state(),
                                        rotating=self.rotating)
        if adopted:
            self.adopted = sorted({*self.adopted, *adopted})
            self._render(live)
        assert self._result is not None
        return self._result

    def rotate(self) -> list[str]:
        """Forget every rotatable generated value, so the next render makes new ones; the
        names of those kept (database passwords)."""
        generated = self._bundle.generated
        self._state().forget({g.state_name for g in generated if g.rotatable})
        self._result = None
        return sorted({g.state_name for g in generated if not g.rotatable})

    @property
    def _bundle(self) -> Bundle:
        assert self._result is not None
        return self._result.bundle

    def _render(self, live: tuple[UserEntry, ...]) -> None:
        self._live = live
        self._result = render_platform(self.loaded, self.options, live_users=live)

    def _state(self) -> StateDir:
        if isinstance(self.options.state, StateDir):
            return self.options.state  # plan's in-memory scratch, which the render uses too
        # A new instance each time: the render's own instance may have written values since.
        return StateDir(_state_path(self.loaded, self.options))


@dataclass
class Watched:
    """The apply's progress (if shown), stopping it as soon as the Lease was lost."""

    progress: ApplyProgress | None
    lease: InstallLease

    def step(self, label: str, total: int) -> None:
        self.lease.check()
        if self.progress is not None:
            self.progress.step(label, total)

    def object_done(self, what: str, outcome: str) -> None:
        self.lease.check()
        if self.progress is not None:
            self.progress.object_done(what, outcome)

    def waiting(self, what: str, reasons: list[str]) -> None:
        self.lease.check()
        if self.progress is not None:
            self.progress.waiting(what, reasons)


def uninstall_platform(cluster: Cluster, applyset: ApplySet, *, purge_data: bool = False,
                       purge_foreign: bool = False, force: bool = False,
                       waits: WaitSettings | None = None, lease: LeaseSettings | None = None,
                       on_wait: LeaseNotice | None = None) -> UninstallSummary:
    """`uninstall`, holding the install's Lease; the Lease goes too when nothing is left."""
    with InstallLease(cluster, applyset.platform, lease, on_wait) as held:
        summary = uninstall(cluster, applyset, purge_data=purge_data, force=force, waits=waits,
                            purge_foreign=purge_foreign)
        held.remove_on_release = not summary.kept and not summary.stuck
    return summary


def missing_requirements(cluster: Cluster, lock: dict[str, Any]) -> list[str]:
    """The CRDs the bundle (of this lock) needs that the cluster lacks, each with what
    installs it."""
    missing = []
    for requirement in crd_requirements(lock):
        if not cluster.has_crd(requirement["crd"]):
            missing.append(f"CRD {requirement['crd']} (needed because {requirement['why']}); "
                           f"{requirement['fix']}")
    return missing


def refuse_missing(missing: list[str]) -> None:
    """MissingPrerequisite listing `missing`, before anything is applied (none: nothing)."""
    if missing:
        raise MissingPrerequisite("nothing was applied; the cluster lacks what others install:\n"
                                  + "\n".join(f"  {line}" for line in missing))


def _state_path(loaded: LoadedPlatform, options: RenderOptions) -> Path:
    return options.state_dir or state_dir_for(loaded.path)


def adopt_cluster_secrets(cluster: Cluster, bundle: Bundle, state: StateDir, *,
                          rotating: bool = False) -> list[str]:
    """Record in `state` every generated value the cluster holds differently; their names.

    A second administrator, or a fresh checkout, has an empty state directory:
    generating new values would rotate the OIDC client secret and the cookie
    secret (logging everyone out) and lock the databases out of their own data.
    When `rotating`, only the values rotation keeps (database passwords) are adopted.
    """
    adopted = []
    wanted = {(g.secret, g.key): g.state_name for g in bundle.generated
              if not (rotating and g.rotatable)}
    rendered = {o.identity: o.obj for o in bundle.objects}
    for (identity, key), name in sorted(wanted.items()):
        _, kind, namespace, secret_name = identity
        live = cluster.get("v1", kind, secret_name, namespace or None)
        value = secret_value(live, key) if live else None
        if value is None or value == secret_value(rendered[identity], key):
            continue
        state.adopt(name, value)
        adopted.append(name)
    return sorted(set(adopted))


@dataclass
class PlanResult:
    """The render that was compared, what apply would do, and which secrets it would adopt."""

    render: RenderResult
    entries: list[PlanEntry]
    adopted: list[str]
    missing: list[str]
    """Prerequisites the cluster lacks: apply would stop before any change."""
    upgrade: UpgradePreview | None = None
    """The upgrade section, when the apply would change the installed release."""


def plan_platform(loaded: LoadedPlatform, cluster: Cluster,
                  render_options: RenderOptions | None = None,
                  rotate_secrets: bool = False,
                  options: ApplyOptions | None = None, *,
                  upgrade: UpgradeOptions | None = None) -> PlanResult:
    """What apply with `options` would do, object by object; nothing is changed, not even
    the state directory.

    Adoption runs on an in-memory scratch copy of the state directory, so the
    plan shows exactly what apply would send (an adopted secret is unchanged,
    not updated) and no copy of a secret is ever written to disk: a plan killed
    at any moment (SIGTERM, SIGKILL) leaves nothing behind.
    """
    render_options = render_options or RenderOptions()
    scratch = StateDir.scratch(_state_path(loaded, render_options))
    renders = _Renders(loaded, cluster, dataclasses.replace(render_options, state=scratch),
                       rotate_secrets)
    result = renders.current()
    if rotate_secrets:
        renders.rotate()
        result = renders.current()
    preview = upgrade_preview(cluster, result.bundle, upgrade)
    recreate = {identity_of(c.obj): c.field for c in preview.changes.immutable
                if not c.keeps_data} if preview else {}
    entries = plan_bundle(cluster, bundle_files(result.bundle), applyset_of(result.bundle),
                          options, recreate=recreate)
    entries += [PlanEntry(item.what, "replace", [item.reason]) for item in
                stale_store_objects(cluster, [o.obj for o in result.bundle.objects])]
    return PlanResult(result, entries, renders.adopted,
                      missing_requirements(cluster, result.bundle.lock), preview)


def changes(entries: Sequence[PlanEntry]) -> int:
    """How many entries would change the cluster."""
    return sum(1 for e in entries if e.action in ("create", "update", "prune", "adopt",
                                                  "replace", "recreate"))
