"""What the user and profile commands share: their option groups (the three modes) and the
file edit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from kfops.cluster import ApplyOptions, Cluster
from kfops.config import DEFAULT_PLATFORM_FILE, Change, Holder, edit_platform, load_platform
from kfops.errors import InputError, KfopsError
from kfops.render import RenderOptions

from ._cluster_commands import run_apply
from ._options import (
    Connection,
    FileOption,
    NoWaitOption,
    OfflineOption,
    OptionGroup,
    Output,
    OutputOption,
)
from ._output import err, out, warn

LiveOption = Annotated[bool, typer.Option(
    "--live", help="Change the running cluster only (no platform file needed).")]
ApplyFlag = Annotated[bool, typer.Option(
    "--apply", help="Apply the edited platform file to the cluster afterwards.")]


def edit_file(file: Path, change: Change, what: str, apply: bool, connection: Connection,
              offline: bool, wait: bool = True) -> None:
    """Make `change` to the platform file and say so; with `apply`, apply the file.

    Another command editing the file is waited for, unless `wait` is False.
    """
    edited = edit_platform(file, change, wait=wait, on_wait=_waiting_for(file))
    out.print(f"{what} in {file}", markup=False)
    if edited.remaining and not apply:
        warn([f"{file} is not ready to apply yet; still to fix:",
              *(f"  {problem}" for problem in edited.remaining)])
    if apply:
        try:
            # Read again with every reference checked, as `kfops apply` reads it.
            run_apply(load_platform(file), connection, ApplyOptions(),
                      RenderOptions(offline=offline), Output.text, wait=wait)
        except KfopsError as error:
            # The edit stays (it is what the user asked for); only the cluster lags behind.
            error.add_note(f"{file} was changed ({what}); the cluster was not: "
                           f"`{connection.apply_command(file)}` finishes the job")
            raise


def _waiting_for(file: Path) -> Callable[[Holder], None]:
    def notice(holder: Holder) -> None:
        err.print(f"waiting: {file.name} is being edited by {holder}", markup=False)

    return notice


@dataclass(frozen=True)
class Day2(OptionGroup):
    """Where a user or profile command makes its change: the file (then --apply), or --live."""

    file: FileOption = DEFAULT_PLATFORM_FILE
    apply: ApplyFlag = False
    live: LiveOption = False
    connection: Connection = field(default_factory=Connection)
    offline: OfflineOption = False
    no_wait: NoWaitOption = False

    def __post_init__(self) -> None:
        if self.apply and self.live:
            raise InputError("--apply edits the platform file and applies it; --live changes "
                             "the cluster only: choose one")

    @property
    def wait(self) -> bool:
        """Wait for another command editing the file or applying (not with --no-wait)."""
        return not self.no_wait

    def change(self, on_cluster: Callable[[Cluster], object], live_done: str,
               file_change: Change, file_done: str) -> None:
        """`on_cluster` with --live, else `file_change` to the platform file; say which."""
        if self.live:
            with self.connection.connect() as cluster:
                on_cluster(cluster)
            out.print(live_done)
            return
        edit_file(self.file, file_change, file_done, self.apply, self.connection, self.offline,
                  self.wait)


@dataclass(frozen=True)
class Listing(OptionGroup):
    """Where a list command reads: the platform file, or --live the cluster; and how to print."""

    file: FileOption = DEFAULT_PLATFORM_FILE
    live: LiveOption = False
    connection: Connection = field(default_factory=Connection)
    output: OutputOption = Output.text
