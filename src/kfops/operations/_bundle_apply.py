"""`kfops apply --bundle` and `kfops plan --bundle`: a bundle rendered and reviewed before,
applied without rendering again, with the guarantees of `apply -f` that do not need a render.

The lock is checked before the cluster is asked anything: the kfops version
that wrote the bundle, and every file's digest (a hand-edited bundle is refused
unless `allow_edited`, and then validated offline). A bundle cannot be rendered
again, so it cannot adopt a generated value the cluster holds: that value is
kept in the cluster (never overwritten) and the result names it.
"""

from __future__ import annotations

import copy
import dataclasses
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
    PlanEntry,
    apply_bundle,
    installed_release,
    plan_bundle,
)
from kfops.errors import InputError, OperationError, ValidationError
from kfops.objects import ApplySet, Identity, describe, identity_of, secret_value, set_secret_value
from kfops.render import GeneratedValue, generated_from_lock, review_bundle, validate_bundle
from kfops.secrets import state_dir_for
from kfops.storage import replace_stale, stale_store_objects
from kfops.upgrade import read_record

from ._apply import (
    APPLY_PASSES,
    Watched,
    bundle_from_disk,
    missing_requirements,
    refuse_missing,
    value_guards,
)
from ._upgrade import lock_release


@dataclass(frozen=True)
class BundleSource:
    """A written bundle to apply as it is: its folder, whether hand edits may go through,
    and the state directory that holds the copy of its secrets."""

    folder: Path
    allow_edited: bool = False
    state_dir: Path | None = None
    """Where `kfops render` kept the bundle's secrets (default: KFOPS_STATE_DIR, else
    `.kfops/` next to the bundle folder)."""

    def read(self) -> OnDiskBundle:
        """The bundle's files, checked against its lock; nothing talks to a cluster.

        InputError (exit 2) for another kfops version, secrets in neither place,
        or files that differ from the lock (unless `allow_edited`);
        ValidationError when an edited bundle holds an invalid object.
        """
        reviewed = review_bundle(self.folder, self.state_dir or state_dir_for(self.folder))
        if reviewed.edited and not self.allow_edited:
            raise InputError(
                f"{self.folder} differs from its lock (edited by hand?); nothing was applied:\n"
                + "\n".join(f"  {line}" for line in reviewed.edited)
                + "\nrender the bundle again, or review the changes and pass --allow-edited")
        generated = generated_from_lock(self.folder, reviewed.lock)
        if reviewed.edited:
            report = validate_bundle(self.folder, secrets_dir=reviewed.secrets_dir,
                                     paths=reviewed.paths)
            if not report.ok:
                raise ValidationError(report.problems)
        files, applyset = bundle_from_disk(self.folder, reviewed)
        if reviewed.edited:
            files = _labelled(files, applyset)
        return OnDiskBundle(files, applyset, reviewed.lock, generated, list(reviewed.edited))


@dataclass
class OnDiskBundle:
    """A bundle read from disk for the engine, with what its lock records."""

    files: list[BundleFile]
    applyset: ApplySet
    lock: dict[str, Any]
    generated: list[GeneratedValue]
    edited: list[str]
    """The files that differ from the lock (applied with --allow-edited)."""


@dataclass
class BundleApplyResult:
    """What `apply --bundle` did."""

    summary: ApplySummary
    kept: list[str]
    """Generated values the cluster holds differently, kept there (the bundle's not sent)."""
    edited: list[str]
    replaced: list[str] = field(default_factory=list)


@dataclass
class BundlePlanResult:
    """What `apply --bundle` would do."""

    entries: list[PlanEntry]
    kept: list[str]
    edited: list[str]
    missing: list[str]
    """Prerequisites the cluster lacks: apply would stop before any change."""


def apply_on_disk(bundle: OnDiskBundle, cluster: Cluster, options: ApplyOptions, *,
                  progress: ApplyProgress | None = None,
                  on_wait: LeaseNotice | None = None) -> BundleApplyResult:
    """Apply `bundle` as `apply_platform` applies a render, holding the install's Lease.

    Stops before any write when the cluster lacks a prerequisite CRD or the
    bundle changes the installed release (an upgrade renders: `apply -f`).
    """
    refuse_missing(missing_requirements(cluster, bundle.lock))
    refuse_release_change(cluster, bundle)
    options = dataclasses.replace(options, release=lock_release(bundle.lock))
    with InstallLease(cluster, bundle.applyset.platform, options.lease, on_wait) as lease:
        watched = Watched(progress, lease)
        for _ in range(APPLY_PASSES):
            files, kept = _with_cluster_values(cluster, bundle)
            objects = [obj for f in files for obj in f.objects]
            try:
                summary = apply_bundle(cluster, files, bundle.applyset, options, watched,
                                       guards=value_guards(cluster, objects, bundle.generated,
                                                           rotating=False))
            except GeneratedValueHeld:
                continue  # created by another install meanwhile: the next pass keeps it
            lease.check()
            replaced = replace_stale(cluster, stale_store_objects(cluster, objects))
            return BundleApplyResult(summary, kept, bundle.edited, replaced)
    raise OperationError(f"generated Secrets kept being created by another install "
                         f"({APPLY_PASSES} passes); run apply again")


def plan_on_disk(bundle: OnDiskBundle, cluster: Cluster,
                 options: ApplyOptions | None = None) -> BundlePlanResult:
    """What `apply_on_disk` would send, object by object; nothing is changed.

    The objects are compared as apply would write them: with the generated
    values the cluster keeps and the Dex users added live.
    """
    refuse_release_change(cluster, bundle)
    files, kept = _with_cluster_values(cluster, bundle)
    guards = value_guards(cluster, [obj for f in files for obj in f.objects], bundle.generated,
                          rotating=False)
    files = [BundleFile(f.path, f.component, tuple(_as_written(cluster, obj, guards)
                                                   for obj in f.objects)) for f in files]
    entries = plan_bundle(cluster, files, bundle.applyset, options)
    entries += [PlanEntry(item.what, "replace", [item.reason]) for item in stale_store_objects(
        cluster, [obj for f in files for obj in f.objects])]
    return BundlePlanResult(entries, kept, bundle.edited,
                            missing_requirements(cluster, bundle.lock))


def refuse_release_change(cluster: Cluster, bundle: OnDiskBundle) -> None:
    """InputError when applying `bundle` would change the installed release or an upgrade is
    under way: the upgrade's backup, gates and steps run with `kfops apply -f`."""
    platform = bundle.applyset.platform
    installed, target = installed_release(cluster, platform), lock_release(bundle.lock)
    if read_record(cluster, platform) is not None:
        raise InputError(f"an upgrade of {platform} is under way; nothing was changed: finish "
                         "it with `kfops apply -f`")
    if installed and installed != target:
        raise InputError(f"this bundle changes the release of {platform} from {installed} to "
                         f"{target}; nothing was changed: run `kfops apply -f` for an upgrade")


def _with_cluster_values(cluster: Cluster, bundle: OnDiskBundle,
                         ) -> tuple[list[BundleFile], list[str]]:
    """The bundle's files with every generated value the cluster holds differently put back
    as the cluster holds it, and a line for each such value.

    A value is kept under its state name: every Secret the bundle writes it to
    gets the cluster's (the OIDC client secret is in Dex's and oauth2-proxy's).
    """
    rendered = {identity_of(obj): obj for f in bundle.files for obj in f.objects}
    held: dict[str, str] = {}
    notes = []
    for value in bundle.generated:
        obj = rendered.get(value.secret)
        live = cluster.get("v1", value.secret[1], value.secret[3], value.secret[2] or None)
        live_value = secret_value(live, value.key) if live is not None else None
        if obj is None or live_value is None or live_value == secret_value(obj, value.key):
            continue
        held.setdefault(value.state_name, live_value)
        notes.append(f"{value.state_name} ({describe(obj)}, key {value.key})")
    changed: dict[Identity, dict[str, Any]] = {}
    for value in bundle.generated:
        if value.state_name in held and value.secret in rendered:
            obj = changed.setdefault(value.secret, copy.deepcopy(rendered[value.secret]))
            set_secret_value(obj, value.key, held[value.state_name])
    files = [BundleFile(f.path, f.component, tuple(changed.get(identity_of(obj), obj)
                                                   for obj in f.objects))
             for f in bundle.files]
    return files, sorted(set(notes))


def _labelled(files: list[BundleFile], applyset: ApplySet) -> list[BundleFile]:
    """The objects with the install's labels, as the render gives them: an object edited or
    added by hand is recorded, and pruned once it leaves the bundle, like the rest."""
    labels = applyset.member_labels()

    def label(obj: dict[str, Any]) -> dict[str, Any]:
        current = obj["metadata"].get("labels") or {}
        if all(current.get(k) == v for k, v in labels.items()):
            return obj
        done = copy.deepcopy(obj)
        done["metadata"]["labels"] = {**current, **labels}
        return done

    return [BundleFile(f.path, f.component, tuple(label(o) for o in f.objects)) for f in files]


def _as_written(cluster: Cluster, obj: dict[str, Any], guards: dict[Identity, Guard],
                ) -> dict[str, Any]:
    """`obj` as its guard would write it now (itself when it has none)."""
    guard = guards.get(identity_of(obj))
    if guard is None:
        return obj
    metadata = obj["metadata"]
    return guard.fresh(obj, cluster.get(str(obj["apiVersion"]), str(obj["kind"]),
                                        metadata["name"], metadata.get("namespace")))
