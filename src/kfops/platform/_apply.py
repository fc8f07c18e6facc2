"""Apply and plan a platform: render, adopt the cluster's secrets, hand over to the engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kfops.cluster import (
    ApplyOptions,
    ApplyProgress,
    ApplySummary,
    BundleFile,
    Cluster,
    PlanEntry,
    Target,
    apply_bundle,
    plan_bundle,
)
from kfops.config import LoadedPlatform
from kfops.errors import MissingPrerequisite
from kfops.identity import DexUsers
from kfops.objects import secret_value
from kfops.render import ApplySet, Bundle, RenderOptions, RenderResult, read_bundle_files
from kfops.secrets import StateDir, state_dir_for

from ._render import render_platform


@dataclass
class ApplyResult:
    """The render that was applied, what the apply did, and which secrets were adopted."""

    render: RenderResult
    summary: ApplySummary
    adopted: list[str]


def bundle_files(bundle: Bundle) -> list[BundleFile]:
    """The bundle's files as the engine takes them (stage order, then component order)."""
    return [BundleFile(path, items[0].component, tuple(i.obj for i in items))
            for path, items in bundle.files.items() if items]


def bundle_from_disk(folder: Path) -> tuple[list[BundleFile], Target]:
    """A written bundle's files and install, for status and uninstall without a platform file."""
    files, lock = read_bundle_files(folder)
    platform = str(lock["platform"])
    return ([BundleFile(path, component, tuple(objects)) for path, component, objects in files],
            Target(platform, ApplySet(platform).id))


def platform_target(loaded: LoadedPlatform) -> Target:
    """The install a platform file describes (no render needed: only its name counts)."""
    name = loaded.platform.metadata.name
    return Target(name, ApplySet(name).id)


def target_of(bundle: Bundle) -> Target:
    """The install a bundle belongs to (its platform name and ApplySet)."""
    platform = str(bundle.lock["platform"])
    return Target(platform, ApplySet(platform).id)


def apply_platform(loaded: LoadedPlatform, cluster: Cluster, options: ApplyOptions, *,
                   render_options: RenderOptions | None = None, rotate_secrets: bool = False,
                   progress: ApplyProgress | None = None) -> ApplyResult:
    """Render, adopt generated secrets the cluster already holds (unless rotating), apply."""
    result, adopted = _render_adopting(loaded, cluster, render_options or RenderOptions(),
                                       rotate_secrets)
    missing = missing_requirements(cluster, result.bundle)
    if missing:
        raise MissingPrerequisite("nothing was applied; the cluster lacks what others install:\n"
                                  + "\n".join(f"  {line}" for line in missing))
    summary = apply_bundle(cluster, bundle_files(result.bundle), target_of(result.bundle),
                           options, progress)
    return ApplyResult(result, summary, adopted)


def missing_requirements(cluster: Cluster, bundle: Bundle) -> list[str]:
    """The CRDs the bundle needs that the cluster lacks, each with what installs it."""
    missing = []
    for requirement in bundle.requirements:
        if not cluster.has_crd(requirement["crd"]):
            missing.append(f"CRD {requirement['crd']} (needed because {requirement['why']}); "
                           f"{requirement['fix']}")
    return missing


def _render_adopting(loaded: LoadedPlatform, cluster: Cluster, options: RenderOptions,
                     rotate_secrets: bool) -> tuple[RenderResult, list[str]]:
    """The render, redone with the cluster's generated values when it holds others.

    Users added with `kfops user add --live` are rendered beside the file's, so
    an apply keeps them.
    """
    options = dataclasses.replace(options, live_users=tuple(DexUsers(cluster).live_entries()))
    result = render_platform(loaded, options)
    if rotate_secrets:
        return result, []
    state = options.state or StateDir(_state_path(loaded, options))
    adopted = adopt_cluster_secrets(cluster, result.bundle, state)
    if adopted:
        result = render_platform(loaded, options)
    return result, adopted


def _state_path(loaded: LoadedPlatform, options: RenderOptions) -> Path:
    return options.state_dir or state_dir_for(loaded.path)


def adopt_cluster_secrets(cluster: Cluster, bundle: Bundle, state: StateDir) -> list[str]:
    """Record in `state` every generated value the cluster holds differently; their names.

    A second administrator, or a fresh checkout, has an empty state directory:
    generating new values would rotate the OIDC client secret and the cookie
    secret (logging everyone out) and lock the databases out of their own data.
    """
    adopted = []
    wanted = {(g.secret, g.key): g.state_name for g in bundle.generated}
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


def plan_platform(loaded: LoadedPlatform, cluster: Cluster,
                  render_options: RenderOptions | None = None,
                  rotate_secrets: bool = False,
                  options: ApplyOptions | None = None) -> PlanResult:
    """What apply with `options` would do, object by object; nothing is changed, not even
    the state directory.

    Adoption runs on an in-memory scratch copy of the state directory, so the
    plan shows exactly what apply would send (an adopted secret is unchanged,
    not updated) and no copy of a secret is ever written to disk: a plan killed
    at any moment (SIGTERM, SIGKILL) leaves nothing behind.
    """
    render_options = render_options or RenderOptions()
    scratch = StateDir.scratch(_state_path(loaded, render_options))
    result, adopted = _render_adopting(loaded, cluster,
                                       dataclasses.replace(render_options, state=scratch),
                                       rotate_secrets)
    entries = plan_bundle(cluster, bundle_files(result.bundle), target_of(result.bundle),
                          options)
    return PlanResult(result, entries, adopted, missing_requirements(cluster, result.bundle))


def changes(entries: Sequence[PlanEntry]) -> int:
    """How many entries would change the cluster."""
    return sum(1 for e in entries if e.action in ("create", "update", "prune", "adopt"))
