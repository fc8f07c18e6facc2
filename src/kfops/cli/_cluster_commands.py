"""Commands that talk to a cluster: apply, plan, status, uninstall."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kfops.cluster import (
    ApplyOptions,
    ApplySummary,
    LeaseHolder,
    LeaseSettings,
    PlanEntry,
    WaitSettings,
)
from kfops.config import DEFAULT_PLATFORM_FILE, LoadedPlatform, load_platform
from kfops.errors import InputError
from kfops.operations import (
    ApplyResult,
    BundleSource,
    InstallChoice,
    OnDiskBundle,
    PlanResult,
    UpgradeOptions,
    UpgradePreview,
    apply_on_disk,
    apply_platform,
    changes,
    install_status,
    installed_applyset,
    plan_on_disk,
    plan_platform,
    preflight,
    uninstall_platform,
)
from kfops.render import RenderOptions
from kfops.upgrade import GATES

from ._cluster_progress import ApplyBar
from ._options import (
    AllowPathsOption,
    Connection,
    FileOption,
    NoWaitOption,
    OfflineOption,
    OnCluster,
    OptionGroup,
    Output,
    OutputOption,
    grouped,
)
from ._output import err, out, print_json, warn
from ._upgrade_output import upgrade_done_json, upgrade_done_lines, upgrade_json, upgrade_lines

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
ForceGateOption = Annotated[list[str] | None, typer.Option(
    "--force-gate", metavar="NAME", help="Pass an upgrade gate on purpose (" + ", ".join(GATES)
    + "); repeatable.")]
RestartUserOption = Annotated[bool, typer.Option(
    "--restart-user-workloads", help="On an upgrade, also restart workloads in profile "
                                     "namespaces whose Istio sidecar is old (interrupts "
                                     "notebooks).")]
AllowEditedOption = Annotated[bool, typer.Option(
    "--allow-edited", help="With --bundle: apply a bundle whose files differ from its lock "
                           "(edited by hand), after validating it.")]
NameOption = Annotated[str | None, typer.Option(
    "--name", help="The install on the cluster (its metadata.name), read from its ApplySet "
                   "parent; no platform file needed.")]


@dataclass(frozen=True)
class ChangeFlags(OptionGroup):
    """What apply and plan share: the platform file, the cluster, and what to change."""

    file: FileOption = DEFAULT_PLATFORM_FILE
    connection: Connection = field(default_factory=Connection)
    offline: OfflineOption = False
    rotate_secrets: RotateOption = False
    prune: PruneOption = True
    purge_data: PurgeDataOption = False
    purge_foreign: PurgeForeignOption = False
    adopt: AdoptOption = None
    force_gate: ForceGateOption = None
    restore_from: Annotated[Path | None, typer.Option(
        "--restore-from", metavar="DIR", help="Go back to an older release: reset the "
                                              "databases and restore this backup, taken on "
                                              "that release (docs/upgrades.md).")] = None

    def upgrade_options(self, confirm: Callable[[UpgradePreview], bool] | None = None,
                        restart_user_workloads: bool = False, backup: bool = True,
                        backup_dir: Path | None = None) -> UpgradeOptions:
        """What an upgrade may do (gates forced on purpose), checked before anything runs."""
        unknown = sorted(set(self.force_gate or ()) - set(GATES))
        if unknown:
            raise InputError(f"--force-gate {', '.join(unknown)}: no such gate (the gates: "
                             f"{', '.join(GATES)})")
        return UpgradeOptions(tuple(self.force_gate or ()), restart_user_workloads, confirm,
                              backup, backup_dir, self.restore_from)

    def bundle_source(self, bundle: Path | None, allow_edited: bool) -> BundleSource | None:
        """The written bundle to apply as it is (None: render the platform file); InputError
        for flags that need a render."""
        if bundle is None:
            if allow_edited:
                raise InputError("--allow-edited goes with --bundle DIR")
            return None
        InstallChoice(None if self.file == DEFAULT_PLATFORM_FILE else self.file, bundle)
        needs_render = [flag for flag, given in (
            ("--rotate-secrets", self.rotate_secrets), ("--restore-from", self.restore_from),
            ("--force-gate", self.force_gate)) if given]
        if needs_render:
            raise InputError(f"{', '.join(needs_render)}: not with --bundle (a bundle's values "
                             "and release are fixed when it is rendered); use -f")
        return BundleSource(bundle, allow_edited)

    def apply_options(self, waits: WaitSettings | None = None) -> ApplyOptions:
        """The apply (or plan) these flags ask for."""
        options = ApplyOptions(prune=self.prune, purge_data=self.purge_data,
                               purge_foreign=self.purge_foreign, adopt=tuple(self.adopt or ()))
        return options if waits is None else dataclasses.replace(options, waits=waits)


@dataclass(frozen=True)
class Install(OptionGroup):
    """What status and uninstall share: which install (one of -f, --bundle, --name), and
    the cluster."""

    file: OptionalFileOption = None
    bundle: BundleOption = None
    name: NameOption = None
    connection: Connection = field(default_factory=Connection)

    def choice(self) -> InstallChoice:
        """The install these flags name."""
        return InstallChoice(self.file, self.bundle, self.name)


def register(app: typer.Typer) -> None:
    """Add the cluster commands to the app."""
    app.command(name="apply")(apply_command)
    app.command(name="plan")(plan_command)
    app.command(name="status")(status_command)
    app.command(name="uninstall")(uninstall_command)
    app.command(name="check")(check_command)


@grouped
def apply_command(
    flags: ChangeFlags,
    timeout: TimeoutOption = 900.0,
    failure_grace: Annotated[float, typer.Option(
        "--failure-grace", help="Seconds a pod may fail to pull its image, crash-loop, lack a "
                                "ConfigMap or Secret, or find no node before apply stops "
                                "(exit 1) instead of waiting out --timeout.")] = 60.0,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
    no_wait: NoWaitOption = False,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Do not ask before an upgrade to another release (needed without a "
                      "terminal).")] = False,
    restart_user_workloads: RestartUserOption = False,
    bundle: BundleOption = None,
    allow_edited: AllowEditedOption = False,
    no_backup: Annotated[bool, typer.Option(
        "--no-backup", help="On an upgrade, do not back up first (kfops backup).")] = False,
    backup_dir: Annotated[Path | None, typer.Option(
        "--backup-dir", help="On an upgrade, where its backup goes (default: "
                             "./kfops-backup-<platform>-<UTC time>).")] = None,
) -> None:
    """Render, validate and apply the platform in one ordered pass; wait until healthy.

    An apply that changes the Kubeflow release is an upgrade: it shows the upgrade section
    of the plan and asks first, checks the gates before any write, and runs the upgrade's
    steps (docs/upgrades.md). With --bundle, a written bundle is applied as it is, after its
    lock is checked (docs/apply.md, applying a reviewed bundle).
    """
    options = flags.apply_options(WaitSettings(timeout=timeout, failure_grace=failure_grace))
    source = flags.bundle_source(bundle, allow_edited)
    if source is not None:
        run_bundle_apply(source.read(), flags.connection, options, output, wait=not no_wait)
        return
    upgrade = flags.upgrade_options(_Confirm(yes, output), restart_user_workloads,
                                    not no_backup, backup_dir)
    run_apply(load_platform(flags.file, allow_outside=allow_paths_outside),
              flags.connection, options, RenderOptions(offline=flags.offline), output,
              flags.rotate_secrets, wait=not no_wait, upgrade=upgrade)


@dataclass
class _Confirm:
    """Shows the upgrade section, then asks (a terminal), or goes on with --yes."""

    yes: bool
    output: Output
    bar: ApplyBar | None = None

    def __call__(self, preview: UpgradePreview) -> bool:
        if self.output is Output.json:
            if not self.yes:
                raise InputError("this apply is an upgrade: with -o json, --yes is required")
            return True
        if self.bar is not None:
            self.bar.pause()
        for line in upgrade_lines(preview):
            out.print(line, markup=False)
        if self.yes:
            return True
        if not sys.stdin.isatty():
            raise InputError("this apply is an upgrade and there is no terminal to ask: "
                             "review `kfops plan`, then run `kfops apply --yes`")
        answer = typer.confirm(f"Upgrade to {preview.changes.target}?")
        if self.bar is not None:
            self.bar.resume()
        return answer


def run_apply(loaded: LoadedPlatform, connection: Connection, options: ApplyOptions,
              render_options: RenderOptions, output: Output,
              rotate_secrets: bool = False, wait: bool = True,
              upgrade: UpgradeOptions | None = None) -> None:
    """`kfops apply` of `loaded`, with its progress display and summary.

    Another run holding the install's Lease is waited for, unless `wait` is False.
    """
    options = dataclasses.replace(options, lease=LeaseSettings(wait=wait))
    with connection.connect() as cluster:
        if output is Output.json:
            result = apply_platform(loaded, cluster, options, render_options=render_options,
                                    rotate_secrets=rotate_secrets, on_wait=waiting_for_lease,
                                    upgrade=upgrade)
        else:
            with ApplyBar() as bar:
                if upgrade is not None and isinstance(upgrade.confirm, _Confirm):
                    upgrade.confirm.bar = bar
                result = apply_platform(loaded, cluster, options, render_options=render_options,
                                        rotate_secrets=rotate_secrets, progress=bar,
                                        on_wait=waiting_for_lease, upgrade=upgrade)
    _print_apply(result, output)


def run_bundle_apply(bundle: OnDiskBundle, connection: Connection, options: ApplyOptions,
                     output: Output, wait: bool = True) -> None:
    """`kfops apply --bundle` of a bundle read (and checked) before connecting."""
    options = dataclasses.replace(options, lease=LeaseSettings(wait=wait))
    with connection.connect() as cluster:
        if output is Output.json:
            result = apply_on_disk(bundle, cluster, options, on_wait=waiting_for_lease)
        else:
            with ApplyBar() as bar:
                result = apply_on_disk(bundle, cluster, options, progress=bar,
                                       on_wait=waiting_for_lease)
    summary = result.summary
    if output is Output.json:
        print_json({**_summary_json(summary), "replaced": result.replaced,
                    "keptValues": result.kept, "edited": result.edited})
        return
    _print_bundle_notes(result.edited, result.kept, "kept")
    _print_summary(summary, result.replaced)


def _print_bundle_notes(edited: list[str], kept: list[str], verb: str) -> None:
    warn([f"applying an edited bundle (--allow-edited): {line}" for line in edited])
    for name in kept:
        out.print(f"  {verb} the cluster's value of {name}: the bundle holds another (render "
                  "again with `kfops render -f` to adopt it)", markup=False)


def waiting_for_lease(holder: LeaseHolder) -> None:
    """Say whom a run waits for (once, on stderr)."""
    err.print(f"waiting: another kfops operation on this install is in progress, by {holder}",
              markup=False)


def _summary_json(summary: ApplySummary) -> dict[str, list[str]]:
    return {"created": summary.created, "updated": summary.updated,
            "unchanged": summary.unchanged, "pruned": summary.pruned, "kept": summary.kept,
            "alsoDeleted": summary.also_deleted, "ignored": summary.ignored,
            "takenOver": summary.taken_over}


def _print_apply(result: ApplyResult, output: Output) -> None:
    summary = result.summary
    if output is Output.json:
        print_json({**_summary_json(summary),
                    "adopted": result.adopted, "notRotated": result.not_rotated,
                    "replaced": result.replaced, "warnings": result.render.bundle.warnings,
                    "upgrade": upgrade_done_json(result.upgrade) if result.upgrade else None})
        return
    warn(result.render.bundle.warnings)
    for name in result.adopted:
        out.print(f"  adopted the cluster's value of {name} (use --rotate-secrets to replace)")
    for name in result.not_rotated:
        out.print(f"  kept {name}: its database keeps the password it was initialised with "
                  "(docs/apply.md, rotating secrets)")
    _print_summary(summary, result.replaced,
                   upgrade_done_lines(result.upgrade) if result.upgrade is not None else [])


def _print_summary(summary: ApplySummary, replaced: list[str],
                   upgrade: list[str] | None = None) -> None:
    for name in summary.taken_over:
        out.print(f"  took over the install {name} (--adopt)", markup=False)
    _print_each("kept", summary.kept)
    _print_each("pruned", summary.also_deleted)
    _print_each("ignored", summary.ignored)
    _print_each("replaced", replaced)
    for line in upgrade or []:
        out.print(line, markup=False)
    out.print(f"[green]applied[/] {len(summary.created)} created, {len(summary.updated)} "
              f"updated, {len(summary.unchanged)} unchanged, {len(summary.pruned)} pruned")


def _print_each(done: str, entries: list[str]) -> None:
    for entry in entries:
        out.print(f"  {done} {entry}", markup=False)


@grouped
def plan_command(
    flags: ChangeFlags,
    verbose: Annotated[bool, typer.Option("-v", "--verbose",
                                          help="Show changed fields.")] = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
    bundle: BundleOption = None,
    allow_edited: AllowEditedOption = False,
) -> None:
    """What apply with the same flags would create, change, prune and keep (exit 3 when
    something would change)."""
    source = flags.bundle_source(bundle, allow_edited)
    if source is not None:
        _plan_bundle(source.read(), flags, verbose, output)
        return
    loaded = load_platform(flags.file, allow_outside=allow_paths_outside)
    with flags.connection.connect() as cluster:
        plan = plan_platform(loaded, cluster, RenderOptions(offline=flags.offline),
                             flags.rotate_secrets, flags.apply_options(),
                             upgrade=flags.upgrade_options())
    pending = changes(plan.entries)
    if output is Output.json:
        print_json({"changes": pending, "adopted": plan.adopted, "missing": plan.missing,
                    "warnings": plan.render.bundle.warnings,
                    "upgrade": upgrade_json(plan.upgrade) if plan.upgrade else None,
                    "objects": _entries_json(plan.entries)})
    else:
        _print_plan(plan, verbose)
    if pending:
        raise typer.Exit(3)


def _plan_bundle(bundle: OnDiskBundle, flags: ChangeFlags, verbose: bool,
                 output: Output) -> None:
    """`kfops plan --bundle`: what `apply --bundle` would do (exit 3 when something would
    change)."""
    with flags.connection.connect() as cluster:
        plan = plan_on_disk(bundle, cluster, flags.apply_options())
    pending = changes(plan.entries)
    if output is Output.json:
        print_json({"changes": pending, "keptValues": plan.kept, "edited": plan.edited,
                    "missing": plan.missing, "objects": _entries_json(plan.entries)})
    else:
        _print_bundle_notes(plan.edited, plan.kept, "keep    ")
        warn([f"apply would stop: the cluster lacks {line}" for line in plan.missing])
        _print_entries(plan.entries, verbose)
    if pending:
        raise typer.Exit(3)


def _entries_json(entries: list[PlanEntry]) -> list[dict[str, object]]:
    return [{"object": e.object, "action": e.action, "changes": e.changes} for e in entries]


_EXPLAINED = ("prune", "keep", "ignore", "adopt", "replace", "recreate")
"""Actions whose reason plan always prints (with -v or not)."""


def _print_plan(plan: PlanResult, verbose: bool) -> None:
    warn([f"apply would stop: the cluster lacks {line}" for line in plan.missing])
    for name in plan.adopted:
        out.print(f"  adopt    the cluster's value of {name}")
    _print_entries(plan.entries, verbose)
    if plan.upgrade is not None:
        for line in upgrade_lines(plan.upgrade, verbose):
            out.print(line, markup=False)


def _print_entries(entries: list[PlanEntry], verbose: bool) -> None:
    """Each change (with why, for those always explained), then the counts per action."""
    for entry in entries:
        if entry.action == "unchanged":
            continue
        out.print(f"  {entry.action:<8} {entry.object}", markup=False)
        if verbose or entry.action in _EXPLAINED:
            for change in entry.changes:
                for line in change.splitlines():
                    out.print(f"           {line}", markup=False)
    counts = {a: sum(1 for e in entries if e.action == a)
              for a in ("create", "update", "prune", "keep", "unchanged", "adopt", "ignore",
                        "replace", "recreate")}
    out.print(", ".join(f"{n} {a}" for a, n in counts.items()
                        if n or a not in ("adopt", "ignore", "replace", "recreate")))


@grouped
def status_command(
    install: Install,
    offline: OfflineOption = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Health per component: ready, progressing or failed (exit 1 when one failed)."""
    rows = install_status(install.choice(), install.connection.connect,
                          RenderOptions(offline=offline), allow_outside=allow_paths_outside)
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


@grouped
def uninstall_command(
    install: Install,
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
    choice = install.choice()
    named = choice.named_applyset()
    with install.connection.connect() as cluster:
        applyset = named or installed_applyset(cluster, choice.name)
        if not yes:
            typer.confirm(f"Uninstall platform {applyset.platform}: delete "
                          f"{_what_goes(purge_data, purge_foreign)}?", abort=True)
        summary = uninstall_platform(cluster, applyset, purge_data=purge_data,
                                     purge_foreign=purge_foreign, force=force,
                                     waits=WaitSettings(timeout=timeout),
                                     lease=LeaseSettings(wait=not no_wait),
                                     on_wait=waiting_for_lease)
    if output is Output.json:
        print_json({"deleted": summary.deleted, "kept": summary.kept, "stuck": summary.stuck,
                    "alsoDeleted": summary.also_deleted, "ignored": summary.ignored})
    else:
        _print_each("kept", summary.kept)
        _print_each("deleted", summary.also_deleted)
        _print_each("ignored", summary.ignored)
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


@grouped
def check_command(
    platform: OnCluster,
    output: OutputOption = Output.text,
) -> None:
    """Preflight against the current cluster: pass/warn/fail per check (exit 1 on a fail)."""
    loaded = load_platform(platform.file, check_references=False)
    with platform.connection.connect() as cluster:
        checks = preflight(loaded, cluster)
    if output is Output.json:
        print_json([{"check": c.name, "state": c.state, "detail": c.detail} for c in checks])
    else:
        colours = {"pass": "green", "warn": "yellow", "fail": "red"}
        for c in checks:
            out.print(f"  [{colours[c.state]}]{c.state:<4}[/] {c.name:<14} {escape(c.detail)}")
    if any(c.state == "fail" for c in checks):
        raise typer.Exit(1)
