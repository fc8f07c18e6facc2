"""Commands that talk to a cluster: apply, plan, status, uninstall."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kfops.cluster import ApplyOptions, Cluster, WaitSettings, uninstall
from kfops.config import LoadedPlatform, load_platform
from kfops.health import platform_status
from kfops.platform import (
    ApplyResult,
    PlanResult,
    apply_platform,
    bundle_files,
    bundle_from_disk,
    changes,
    plan_platform,
    platform_target,
    preflight,
    render_platform,
)
from kfops.render import RenderOptions

from ._cluster_progress import ApplyBar
from ._options import (
    AllowPathsOption,
    ContextOption,
    FileOption,
    KubeconfigOption,
    OfflineOption,
    Output,
    OutputOption,
)
from ._output import out, print_json, warn

TimeoutOption = Annotated[float, typer.Option(
    "--timeout", help="Seconds to wait for CRDs, webhooks and workloads.")]
RotateOption = Annotated[bool, typer.Option(
    "--rotate-secrets", help="Replace generated secrets the cluster holds (logs users out).")]
BundleOption = Annotated[Path | None, typer.Option(
    "--bundle", help="Use a written bundle instead of rendering the platform file.")]


def register(app: typer.Typer) -> None:
    """Add the cluster commands to the app."""
    app.command(name="apply")(apply_command)
    app.command(name="plan")(plan_command)
    app.command(name="status")(status_command)
    app.command(name="uninstall")(uninstall_command)
    app.command(name="check")(check_command)


def apply_command(
    file: FileOption = Path("platform.yaml"),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    rotate_secrets: RotateOption = False,
    prune: Annotated[bool, typer.Option(
        "--prune/--no-prune", help="Remove objects kfops applied that left the platform.")] = True,
    purge_data: Annotated[bool, typer.Option(
        "--purge-data", help="Let prune delete PVCs, Profiles, namespaces with data, CRDs "
                             "with instances.")] = False,
    timeout: TimeoutOption = 900.0,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Render, validate and apply the platform in one ordered pass; wait until healthy."""
    options = ApplyOptions(prune=prune, purge_data=purge_data,
                           waits=WaitSettings(timeout=timeout))
    run_apply(load_platform(file, allow_outside=allow_paths_outside),
              Connection(kubeconfig, context), options,
              RenderOptions(offline=offline), output, rotate_secrets)


@dataclass(frozen=True)
class Connection:
    """Which cluster: a kubeconfig file and context (defaults as kubectl's)."""

    kubeconfig: Path | None = None
    context: str | None = None

    def connect(self) -> Cluster:
        """A client of the cluster."""
        return Cluster.connect(self.kubeconfig, self.context)


def run_apply(loaded: LoadedPlatform, connection: Connection, options: ApplyOptions,
              render_options: RenderOptions, output: Output,
              rotate_secrets: bool = False) -> None:
    """`kfops apply` of `loaded`, with its progress display and summary."""
    with connection.connect() as cluster:
        if output is Output.json:
            result = apply_platform(loaded, cluster, options, render_options=render_options,
                                    rotate_secrets=rotate_secrets)
        else:
            with ApplyBar() as bar:
                result = apply_platform(loaded, cluster, options, render_options=render_options,
                                        rotate_secrets=rotate_secrets, progress=bar)
    _print_apply(result, output)


def _print_apply(result: ApplyResult, output: Output) -> None:
    summary = result.summary
    if output is Output.json:
        print_json({"created": summary.created, "updated": summary.updated,
                    "unchanged": summary.unchanged, "pruned": summary.pruned,
                    "kept": summary.kept, "adopted": result.adopted})
        return
    warn(result.render.bundle.warnings)
    for name in result.adopted:
        out.print(f"  adopted the cluster's value of {name} (use --rotate-secrets to replace)")
    for entry in summary.kept:
        out.print(f"  kept {entry}")
    out.print(f"[green]applied[/] {len(summary.created)} created, {len(summary.updated)} "
              f"updated, {len(summary.unchanged)} unchanged, {len(summary.pruned)} pruned")


def plan_command(
    file: FileOption = Path("platform.yaml"),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    rotate_secrets: RotateOption = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose",
                                          help="Show changed fields.")] = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """What apply would create, change and prune (exit 3 when something would change)."""
    loaded = load_platform(file, allow_outside=allow_paths_outside)
    with Cluster.connect(kubeconfig, context) as cluster:
        plan = plan_platform(loaded, cluster, RenderOptions(offline=offline), rotate_secrets)
    pending = changes(plan.entries)
    if output is Output.json:
        print_json({"changes": pending, "adopted": plan.adopted, "missing": plan.missing,
                    "objects": [
            {"object": e.object, "action": e.action, "changes": e.changes}
            for e in plan.entries]})
    else:
        _print_plan(plan, verbose)
    if pending:
        raise typer.Exit(3)


def _print_plan(plan: PlanResult, verbose: bool) -> None:
    warn([f"apply would stop: the cluster lacks {line}" for line in plan.missing])
    for name in plan.adopted:
        out.print(f"  adopt    the cluster's value of {name}")
    for entry in plan.entries:
        if entry.action == "unchanged":
            continue
        out.print(f"  {entry.action:<8} {entry.object}", markup=False)
        if verbose:
            for change in entry.changes:
                out.print(f"           {change}", markup=False)
    counts = {a: sum(1 for e in plan.entries if e.action == a)
              for a in ("create", "update", "prune", "keep", "unchanged")}
    out.print(", ".join(f"{n} {a}" for a, n in counts.items()))


def status_command(
    file: FileOption = Path("platform.yaml"),
    bundle: BundleOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Health per component: ready, progressing or failed (exit 1 when one failed)."""
    if bundle is not None:
        files, _ = bundle_from_disk(bundle)
    else:
        files = bundle_files(render_platform(load_platform(file, allow_outside=allow_paths_outside),
                                             RenderOptions(offline=offline)).bundle)
    with Cluster.connect(kubeconfig, context) as cluster:
        rows = platform_status(cluster, files)
    if output is Output.json:
        print_json([{"component": r.component, "state": r.state, "reasons": r.reasons}
                    for r in rows])
    else:
        colours = {"ready": "green", "progressing": "yellow", "failed": "red"}
        for row in rows:
            out.print(f"  {row.component:<24} [{colours[row.state]}]{row.state}[/]"
                      + (f"  {row.reasons[0]}" if row.reasons else ""))
    if any(r.state == "failed" for r in rows):
        raise typer.Exit(1)


def uninstall_command(
    file: FileOption = Path("platform.yaml"),
    bundle: BundleOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    purge_data: Annotated[bool, typer.Option(
        "--purge-data", help="Also delete PVCs, Profiles, namespaces with data, CRDs with "
                             "instances.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Remove finalizers of objects stuck deleting (each is listed).")] = False,
    timeout: TimeoutOption = 300.0,
    output: OutputOption = Output.text,
) -> None:
    """Remove what kfops applied; keep users' data unless --purge-data."""
    target = bundle_from_disk(bundle)[1] if bundle is not None else \
        platform_target(load_platform(file))
    if not yes:
        what = "everything, users' data included" if purge_data else \
            "everything but users' data (PVCs, Profiles, their namespaces, CRDs in use)"
        typer.confirm(f"Uninstall platform {target.platform}: delete {what}?", abort=True)
    with Cluster.connect(kubeconfig, context) as cluster:
        summary = uninstall(cluster, target, purge_data=purge_data, force=force,
                            waits=WaitSettings(timeout=timeout))
    if output is Output.json:
        print_json({"deleted": summary.deleted, "kept": summary.kept, "stuck": summary.stuck})
    else:
        for entry in summary.kept:
            out.print(f"  kept {entry}", markup=False)
        for entry in summary.stuck:
            out.print(f"  [yellow]stuck[/] {entry}")
        out.print(f"[green]uninstalled[/] {len(summary.deleted)} deleted, "
                  f"{len(summary.kept)} kept")
    if summary.stuck and not force:
        raise typer.Exit(1)


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
