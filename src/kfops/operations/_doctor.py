"""`kfops doctor`: what the install should be (platform file, bundle or the cluster's record),
one snapshot of the cluster, every chosen rule on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kfops.catalog import DEFAULT_SETTINGS, Settings, catalog_for
from kfops.cluster import Cluster, inventory_workloads, read_inventory
from kfops.config import DEFAULT_PLATFORM_FILE, LoadedPlatform, load_platform
from kfops.errors import ClusterError, KfopsError, Unreachable
from kfops.health import (
    DoctorReport,
    InstallFacts,
    Rule,
    RuleResult,
    Snapshot,
    facts_from_files,
    run_doctor,
)
from kfops.identity import browser_uses_https
from kfops.render import RenderOptions, RenderResult, read_lock

from ._apply import bundle_files, bundle_from_disk
from ._install_choice import InstallChoice
from ._installs import installed_applyset
from ._render import render_platform


def doctor_install(choice: InstallChoice, connect: Callable[[], Cluster], rules: Sequence[Rule],
                   render_options: RenderOptions | None = None, *,
                   allow_outside: bool = False) -> DoctorReport:
    """Run `rules` against the chosen install on the cluster `connect` opens (reads only).

    A platform file is rendered (offline when asked) before connecting, so a bad
    one stops here; without a file or bundle, the install's record on the
    cluster says what to expect.
    """
    facts = _facts_before_connecting(choice, render_options, allow_outside)
    try:
        opened = connect()
    except Unreachable as error:
        # Nothing can be read: every rule is reported as not run, for the same reason.
        return DoctorReport(tuple(RuleResult(r.name, error=str(error)) for r in rules),
                            (f"the cluster: {error}",))
    with opened as cluster:
        unreadable: list[str] = []
        if facts is None:
            facts = _facts_from_cluster(cluster, choice.name, unreadable)
        snapshot = Snapshot(cluster, facts.namespaces)
        snapshot.unreadable += unreadable
        return run_doctor(snapshot, facts, rules)


def _facts_before_connecting(choice: InstallChoice, render_options: RenderOptions | None,
                             allow_outside: bool) -> InstallFacts | None:
    source = choice.source()
    if source == "bundle" and choice.bundle is not None:
        files = bundle_from_disk(choice.bundle)[0]
        release = _version(read_lock(choice.bundle).get("release"))
        return facts_from_files(files, _settings(release))
    if source == "file":
        loaded = load_platform(choice.file or DEFAULT_PLATFORM_FILE, allow_outside=allow_outside)
        return rendered_facts(loaded, render_platform(loaded, render_options))
    return None


def rendered_facts(loaded: LoadedPlatform, rendered: RenderResult) -> InstallFacts:
    """What doctor expects of the install a platform file renders to."""
    spec = loaded.platform.spec
    release = _version(rendered.bundle.lock.get("release"))
    return facts_from_files(bundle_files(rendered.bundle), _settings(release),
                            host=spec.ingress.host, https=browser_uses_https(spec),
                            source="file")


def _facts_from_cluster(cluster: Cluster, name: str | None,
                        unreadable: list[str]) -> InstallFacts:
    """The install's record (its ApplySet parent); without one, what every rule can check
    without it (the reason is reported)."""
    try:
        applyset = installed_applyset(cluster, name)
        inventory = read_inventory(cluster, applyset.platform)
        if inventory is None:  # deleted since it was listed
            raise ClusterError(f"no Secret kube-system/{applyset.parent_name}")
    except ClusterError as error:
        unreadable.append(f"the install's record: {error}")
        return InstallFacts(namespaces=frozenset(), workloads=(), kinds=frozenset())
    return InstallFacts(namespaces=inventory.namespaces,
                        workloads=tuple(inventory_workloads(inventory)),
                        kinds=inventory.kinds, settings=_settings(inventory.release))


def _version(release: Any) -> str:
    if isinstance(release, dict):
        return str(release.get("version") or "")
    return str(release or "")


def _settings(release: str) -> Settings:
    """The release's catalog settings (the default ones for a release the catalog lacks)."""
    if not release:
        return DEFAULT_SETTINGS
    try:
        return catalog_for(release, Path()).settings
    except KfopsError:
        return DEFAULT_SETTINGS
