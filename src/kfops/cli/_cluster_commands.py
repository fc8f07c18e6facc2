"""Commands that talk to a cluster: apply, plan, status, uninstall."""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kfops.cluster import (
    ApplyOptions,
    Cluster,
    LeaseHolder,
    LeaseSettings,
    Target,
    WaitSettings,
    recorded_workloads,
)
from kfops.config import LoadedPlatform, load_platform
from kfops.errors import InputError
from kfops.health import platform_status
from kfops.operations import (
    ApplyResult,
    PlanResult,
    apply_platform,
    bundle_files,
    bundle_from_disk,
    changes,
    installed_target,
    plan_platform,
    platform_target,
    preflight,
    render_platform,
    uninstall_platform,
)
from kfops.render import RenderOptions

from ._cluster_progress import ApplyBar
from ._options import (
    AllowPathsOption,
    ContextOption,
    FileOption,
    KubeconfigOption,
    NoWaitOption,
    OfflineOption,
    Output,
    OutputOption,
)
from ._output import err, out, print_json, warn

TimeoutOption = Annotated[float, typer.Option(
    "--timeout", help="Seconds to wait for CRDs, webhooks and workloads.")]
RotateOption = Annotated[bool, typer.Option(
    "--rotate-secrets", help="Replace generated secrets the cluster holds (logs users out).")]
BundleOption = Annotated[Path | None, typer.Option(
    "--bundle", help="Use a written bundle instead of rendering the platform file.")]
PruneOption = Annotated[bool, typer.Option(
    "--prune/--no-prune", help="Remove objects kfops applied that left the platform.")]
PurgeDataOption = Annotated[bool, typer.Option(
    "--purge-data", help="Let prune delete kfops's data: its PVCs and Profiles, and the "
                         "namespaces and CRDs holding them.")]
PurgeForeignOption = Annotated[bool, typer.Option(
    "--purge-foreign", help="Let prune delete namespaces, Profiles and CRDs that hold objects "
                            "kfops did not apply, with those objects (plan names each).")]
AdoptOption = Annotated[list[str] | None, typer.Option(
    "--adopt", metavar="NAME", help="Take over the objects of the kfops install NAME on this "
                                    "cluster (after renaming metadata.name); repeatable.")]
OptionalFileOption = Annotated[Path | None, typer.Option(
    "--file", "-f", help="The platform file (default: ./platform.yaml if it exists, else the "
                         "one install the cluster holds).")]
NameOption = Annotated[str | None, typer.Option(
    "--name", help="The install on the cluster (its metadata.name), read from its ApplySet "
                   "parent; no platform file needed.")]
DEFAULT_FILE = Path("platform.yaml")


def register(app: typer.Typer) -> None:
    """Add the cluster commands to the app."""
    app.command(name="apply")(apply_command)
    app.command(name="plan")(plan_command)
    app.command(name="status")(status_command)
    app.command(name="uninstall")(uninstall_command)
    app.command(name="check")(check_command)


def apply_command(
    file: FileOption = DEFAULT_FILE,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    rotate_secrets: RotateOption = False,
    prune: PruneOption = True,
    purge_data: PurgeDataOption = False,
    purge_foreign: PurgeForeignOption = False,
    adopt: AdoptOption = None,
    timeout: TimeoutOption = 900.0,
    failure_grace: Annotated[float, typer.Option(
        "--failure-grace", help="Seconds a pod may fail to pull its image, crash-loop, lack a "
                                "ConfigMap or Secret, or find no node before apply stops "
                                "(exit 1) instead of waiting out --timeout.")] = 60.0,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
    no_wait: NoWaitOption = False,
) -> None:
    """Render, validate and apply the platform in one ordered pass; wait until healthy."""
    options = ApplyOptions(prune=prune, purge_data=purge_data, purge_foreign=purge_foreign,
                           adopt=tuple(adopt or ()),
                           waits=WaitSettings(timeout=timeout, failure_grace=failure_grace))
    run_apply(load_platform(file, allow_outside=allow_paths_outside),
              Connection(kubeconfig, context), options, RenderOptions(offline=offline), output,
              rotate_secrets, wait=not no_wait)


@dataclass(frozen=True)
class Connection:
    """Which cluster: a kubeconfig file and context (defaults as kubectl's)."""

    kubeconfig: Path | None = None
    context: str | None = None

    def connect(self) -> Cluster:
        """A client of the cluster, which has answered once: a wrong address, host or
        certificate stops the command here, before it prints or renders anything."""
        cluster = Cluster.connect(self.kubeconfig, self.context)
        try:
            cluster.reach()
        except BaseException:  # any exit (Ctrl-C too) closes the connections; re-raised
            cluster.close()
            raise
        return cluster

    def apply_command(self, file: Path) -> str:
        """The `kfops apply` command line for `file` on this cluster."""
        return shlex.join(["kfops", "apply", "-f", str(file),
                           *(["--kubeconfig", str(self.kubeconfig)] if self.kubeconfig else []),
                           *(["--context", self.context] if self.context else [])])


def run_apply(loaded: LoadedPlatform, connection: Connection, options: ApplyOptions,
              render_options: RenderOptions, output: Output,
              rotate_secrets: bool = False, wait: bool = True) -> None:
    """`kfops apply` of `loaded`, with its progress display and summary.

    Another run holding the install's Lease is waited for, unless `wait` is False.
    """
    options = dataclasses.replace(options, lease=LeaseSettings(wait=wait))
    with connection.connect() as cluster:
        if output is Output.json:
            result = apply_platform(loaded, cluster, options, render_options=render_options,
                                    rotate_secrets=rotate_secrets, on_wait=waiting_for_lease)
        else:
            with ApplyBar() as bar:
                result = apply_platform(loaded, cluster, options, render_options=render_options,
                                        rotate_secrets=rotate_secrets, progress=bar,
                                        on_wait=waiting_for_lease)
    _print_apply(result, output)


def waiting_for_lease(holder: LeaseHolder) -> None:
    """Say whom a run waits for (once, on stderr)."""
    err.print(f"waiting: another kfops operation on this install is in progress, by {holder}",
              markup=False)


def _print_apply(result: ApplyResult, output: Output) -> None:
    summary = result.summary
    if output is Output.json:
        print_json({"created": summary.created, "updated": summary.updated,
                    "unchanged": summary.unchanged, "pruned": summary.pruned,
                    "kept": summary.kept, "alsoDeleted": summary.also_deleted,
                    "ignored": summary.ignored, "takenOver": summary.taken_over,
                    "adopted": result.adopted, "notRotated": result.not_rotated,
                    "warnings": result.render.bundle.warnings})
        return
    warn(result.render.bundle.warnings)
    for name in summary.taken_over:
        out.print(f"  took over the install {name} (--adopt)", markup=False)
    for name in result.adopted:
        out.print(f"  adopted the cluster's value of {name} (use --rotate-secrets to replace)")
    for name in result.not_rotated:
        out.print(f"  kept {name}: its database keeps the password it was initialised with "
                  "(docs/apply.md, rotating secrets)")
    for entry in summary.kept:
        out.print(f"  kept {entry}", markup=False)
    for entry in summary.also_deleted:
        out.print(f"  pruned {entry}", markup=False)
    for entry in summary.ignored:
        out.print(f"  ignored {entry}", markup=False)
    out.print(f"[green]applied[/] {len(summary.created)} created, {len(summary.updated)} "
              f"updated, {len(summary.unchanged)} unchanged, {len(summary.pruned)} pruned")


def plan_command(
    file: FileOption = DEFAULT_FILE,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    rotate_secrets: RotateOption = False,
    prune: PruneOption = True,
    purge_data: PurgeDataOption = False,
    purge_foreign: PurgeForeignOption = False,
    adopt: AdoptOption = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose",
                                          help="Show changed fields.")] = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """What apply with the same flags would create, change, prune and keep (exit 3 when
    something would change)."""
    loaded = load_platform(file, allow_outside=allow_paths_outside)
    options = ApplyOptions(prune=prune, purge_data=purge_data, purge_foreign=purge_foreign,
                           adopt=tuple(adopt or ()))
    with Connection(kubeconfig, context).connect() as cluster:
        plan = plan_platform(loaded, cluster, RenderOptions(offline=offline), rotate_secrets,
                             options)
    pending = changes(plan.entries)
    if output is Output.json:
        print_json({"changes": pending, "adopted": plan.adopted, "missing": plan.missing,
                    "warnings": plan.render.bundle.warnings,
                    "objects": [{"object": e.object, "action": e.action, "changes": e.changes}
                                for e in plan.entries]})
    else:
        _print_plan(plan, verbose)
    if pending:
        raise typer.Exit(3)


_EXPLAINED = ("prune", "keep", "ignore", "adopt")
"""Actions whose reason plan always prints (with -v or not)."""


def _print_plan(plan: PlanResult, verbose: bool) -> None:
    warn([f"apply would stop: the cluster lacks {line}" for line in plan.missing])
    for name in plan.adopted:
        out.print(f"  adopt    the cluster's value of {name}")
    for entry in plan.entries:
        if entry.action == "unchanged":
            continue
        out.print(f"  {entry.action:<8} {entry.object}", markup=False)
        if verbose or entry.action in _EXPLAINED:
            for change in entry.changes:
                for line in change.splitlines():
                    out.print(f"           {line}", markup=False)
    counts = {a: sum(1 for e in plan.entries if e.action == a)
              for a in ("create", "update", "prune", "keep", "unchanged", "adopt", "ignore")}
    out.print(", ".join(f"{n} {a}" for a, n in counts.items()
                        if n or a not in ("adopt", "ignore")))


def status_command(
    file: OptionalFileOption = None,
    bundle: BundleOption = None,
    name: NameOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Health per component: ready, progressing or failed (exit 1 when one failed)."""
    source = _source(file, bundle, name)
    files = bundle_from_disk(bundle)[0] if source == "bundle" and bundle is not None else None
    loaded = load_platform(file or DEFAULT_FILE, allow_outside=allow_paths_outside) \
        if source == "file" else None
    with Connection(kubeconfig, context).connect() as cluster:
        if loaded is not None:
            files = bundle_files(render_platform(loaded, RenderOptions(offline=offline)).bundle)
        if files is None:
            files = recorded_workloads(cluster, installed_target(cluster, name))
        rows = platform_status(cluster, files)
    if output is Output.json:
        print_json([{"component": r.component, "state": r.state, "reasons": r.reasons}
                    for r in rows])
    else:
        colours = {"ready": "green", "progressing": "yellow", "failed": "red"}
        for row in rows:
            out.print(f"  {row.component:<24} [{colours[row.state]}]{row.state}[/]"
                      + (f"  {escape(row.reasons[0])}" if row.reasons else ""))
    if any(r.state == "failed" for r in rows):
        raise typer.Exit(1)


def _source(file: Path | None, bundle: Path | None, name: str | None) -> str:
    """Where the install comes from: `file`, `bundle` or `cluster` (its ApplySet parent)."""
    given = [flag for flag, value in (("-f", file), ("--bundle", bundle), ("--name", name))
             if value is not None]
    if len(given) > 1:
        raise InputError(f"{' and '.join(given)} name the install twice: use one of them")
    if bundle is not None:
        return "bundle"
    if file is not None or (name is None and DEFAULT_FILE.is_file()):
        return "file"
    return "cluster"


def _named_target(source: str, file: Path | None, bundle: Path | None) -> Target | None:
    """The install a bundle or platform file names (None: ask the cluster)."""
    if source == "bundle" and bundle is not None:
        return bundle_from_disk(bundle)[1]
    if source == "file":
        # Only its name counts: no connector secret need be at hand to uninstall.
        return platform_target(load_platform(file or DEFAULT_FILE, check_references=False))
    return None


def uninstall_command(
    file: OptionalFileOption = None,
    bundle: BundleOption = None,
    name: NameOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    purge_data: Annotated[bool, typer.Option(
        "--purge-data", help="Also delete kfops's data: its PVCs and Profiles, and the "
                             "namespaces and CRDs holding them.")] = False,
    purge_foreign: Annotated[bool, typer.Option(
        "--purge-foreign", help="Also delete namespaces, Profiles and CRDs that hold objects "
                                "kfops did not apply, with those objects.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Remove finalizers of objects stuck deleting (each is listed).")] = False,
    timeout: TimeoutOption = 300.0,
    output: OutputOption = Output.text,
    no_wait: NoWaitOption = False,
) -> None:
    """Remove what kfops applied; keep users' data unless --purge-data, and anything kfops
    did not apply (with the namespaces holding it) unless --purge-foreign."""
    named = _named_target(_source(file, bundle, name), file, bundle)
    with Connection(kubeconfig, context).connect() as cluster:
        target = named or installed_target(cluster, name)
        if not yes:
            typer.confirm(f"Uninstall platform {target.platform}: delete "
                          f"{_what_goes(purge_data, purge_foreign)}?", abort=True)
        summary = uninstall_platform(cluster, target, purge_data=purge_data,
                                     purge_foreign=purge_foreign, force=force,
                                     waits=WaitSettings(timeout=timeout),
                                     lease=LeaseSettings(wait=not no_wait),
                                     on_wait=waiting_for_lease)
    if output is Output.json:
        print_json({"deleted": summary.deleted, "kept": summary.kept, "stuck": summary.stuck,
                    "alsoDeleted": summary.also_deleted, "ignored": summary.ignored})
    else:
        for entry in summary.kept:
            out.print(f"  kept {entry}", markup=False)
        for entry in summary.also_deleted:
            out.print(f"  deleted {entry}", markup=False)
        for entry in summary.ignored:
            out.print(f"  ignored {entry}", markup=False)
        for entry in summary.stuck:
            out.print(f"  [yellow]stuck[/] {escape(entry)}")
        out.print(f"[green]uninstalled[/] {len(summary.deleted)} deleted, "
                  f"{len(summary.kept)} kept")
    if summary.stuck and not force:
        raise typer.Exit(1)


def _what_goes(purge_data: bool, purge_foreign: bool) -> str:
    data = "users' data included" if purge_data else \
        "keeping users' data (PVCs, Profiles, their namespaces, CRDs in use)"
    foreign = "and the namespaces, Profiles and CRDs holding objects kfops did not apply, " \
        "with those objects" if purge_foreign else \
        "keeping what kfops did not apply and the namespaces holding it"
    return f"everything kfops applied, {data}, {foreign}"


def check_command(
    file: FileOption = Path("platform.yaml"),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Preflight against the current cluster: pass/warn/fail per check (exit 1 on a fail)."""
    loaded = load_platform(file, check_references=False)
    with Connection(kubeconfig, context).connect() as cluster:
        checks = preflight(loaded, cluster)
    if output is Output.json:
        print_json([{"check": c.name, "state": c.state, "detail": c.detail} for c in checks])
    else:
        colours = {"pass": "green", "warn": "yellow", "fail": "red"}
        for c in checks:
            out.print(f"  [{colours[c.state]}]{c.state:<4}[/] {c.name:<14} {escape(c.detail)}")
    if any(c.state == "fail" for c in checks):
        raise typer.Exit(1)
