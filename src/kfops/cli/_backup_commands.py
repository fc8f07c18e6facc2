"""`kfops backup` and `kfops restore`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from kfops.cluster import WaitSettings
from kfops.operations import InstallChoice, backup_install, restore_install
from kfops.upgrade import BackupOptions, BackupResult, RestoreOptions, RestoreResult

from ._cluster_progress import ApplyBar
from ._options import Connection, OptionGroup, Output, OutputOption, grouped
from ._output import out, print_json

TimeoutOption = Annotated[float, typer.Option(
    "--timeout", help="Seconds to wait for each database Job and for a Profile's namespace.")]


@dataclass(frozen=True)
class WhichInstall(OptionGroup):
    """The install: a platform file, or its name on the cluster (or the only one there)."""

    file: Annotated[Path | None, typer.Option(
        "--file", "-f", help="The platform file (default: ./platform.yaml if it exists, else "
                             "the one install the cluster holds); backup copies its state "
                             "directory, restore refuses a backup of another install.")] = None
    name: Annotated[str | None, typer.Option(
        "--name", "--platform", help="The install on the cluster (its metadata.name), read "
                                     "from its ApplySet parent; no platform file needed.")] = None
    connection: Connection = field(default_factory=Connection)

    def choice(self) -> InstallChoice:
        """The install these flags name."""
        return InstallChoice(self.file, None, self.name)


def register(app: typer.Typer) -> None:
    """Add backup and restore to the app."""
    app.command(name="backup")(backup_command)
    app.command(name="restore")(restore_command)


@grouped
def backup_command(
    install: WhichInstall,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", file_okay=False, help="The backup folder, new or empty (default: "
                                       "./kfops-backup-<platform>-<UTC time>).")] = None,
    no_databases: Annotated[bool, typer.Option(
        "--no-databases", help="Skip the database dumps (no Job runs).")] = False,
    timeout: TimeoutOption = 900.0,
    output: OutputOption = Output.text,
) -> None:
    """Back up the install: Kubeflow custom objects, inventory, state and database dumps."""
    options = BackupOptions(out=out_dir, databases=not no_databases,
                            waits=WaitSettings(timeout=timeout))
    if output is Output.json:
        result = backup_install(install.choice(), install.connection.connect, options)
    else:
        with ApplyBar() as bar:
            result = backup_install(install.choice(), install.connection.connect, options, bar)
    _print_backup(result, output)


def _print_backup(result: BackupResult, output: Output) -> None:
    if output is Output.json:
        print_json({
            "folder": str(result.folder), "platform": result.platform,
            "release": result.release, "objects": result.objects,
            "kinds": {k.kind: {"saved": k.saved, "ownedLeftOut": k.owned}
                      for k in result.kinds},
            "dumps": [d.manifest() for d in result.dumps],
            "absentDatabases": list(result.absent_databases),
            "stateFiles": list(result.state_files),
        })
        return
    for count in result.kinds:
        if count.saved or count.owned:
            owned = f"  ({count.owned} owned by another object, left to its controller)" \
                if count.owned else ""
            out.print(f"  {count.kind:<44} {count.saved:>5} saved{owned}", markup=False)
    for dump in result.dumps:
        out.print(f"  dumped {dump.database} ({', '.join(dump.schemas)}): {dump.size} bytes, "
                  f"sha256 {dump.sha256[:12]}, in PVC {dump.namespace}/{dump.claim} at "
                  f"{dump.path}", markup=False)
    for name in result.absent_databases:
        out.print(f"  no {name} database on this platform: nothing to dump", markup=False)
    state = f", {len(result.state_files)} state files" if result.state_files else \
        ", no state directory"
    out.print(f"[green]backed up[/] {result.objects} custom objects{state} -> {result.folder}")


@grouped
def restore_command(
    folder: Annotated[Path, typer.Argument(help="A folder `kfops backup` wrote.")],
    install: WhichInstall,
    databases: Annotated[bool, typer.Option(
        "--databases", help="Also load the database dumps back (a Job per database; it "
                            "replaces the tables the dumps hold).")] = False,
    timeout: TimeoutOption = 900.0,
    output: OutputOption = Output.text,
) -> None:
    """Put back the custom objects the cluster lacks (never overwriting one), Profiles first;
    with --databases, load the dumps first (exit 1 when objects had to be skipped)."""
    options = RestoreOptions(databases=databases, waits=WaitSettings(timeout=timeout))
    if output is Output.json:
        result = restore_install(folder, install.choice(), install.connection.connect, options)
    else:
        with ApplyBar() as bar:
            result = restore_install(folder, install.choice(), install.connection.connect,
                                     options, bar)
    _print_restore(result, output)
    if result.skipped:  # objects the backup holds that are still not on the cluster
        raise typer.Exit(1)


def _print_restore(result: RestoreResult, output: Output) -> None:
    if output is Output.json:
        print_json({"folder": str(result.folder), "platform": result.platform,
                    "restored": result.restored, "kept": result.kept,
                    "finished": result.finished, "skipped": result.skipped,
                    "databases": result.databases, "kinds": result.counts})
        return
    for entry in result.finished:
        out.print(f"  not re-run {entry} (its saved status says it ended)", markup=False)
    for entry in result.skipped:
        out.print(f"  skipped {entry}", markup=False)
    for name in result.databases:
        out.print(f"  loaded the {name} database", markup=False)
    out.print(f"[green]restored[/] {len(result.restored)} objects, {len(result.kept)} kept "
              f"(already there), {len(result.finished)} finished runs not re-run, "
              f"{len(result.skipped)} skipped")
