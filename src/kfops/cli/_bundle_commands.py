"""`kfops bundle create OUT.tar` and `kfops bundle verify OUT.tar`: the offline machine's kit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kfops.airgap import MirrorResult, verify_offline_bundle
from kfops.config import DEFAULT_PLATFORM_FILE, load_platform
from kfops.operations import create_offline_kit
from kfops.render import RenderOptions

from ._images_commands import Bar, CredsOption, report
from ._options import (
    AllowPathsOption,
    FileOption,
    OfflineOption,
    Output,
    OutputOption,
    command_group,
)
from ._output import err, out, print_json

app = command_group("Offline kit: everything a machine without network needs, in one tar.")


@app.command(name="create")
def create_command(
    archive: Annotated[Path, typer.Argument(dir_okay=False, help="The tar file to write.")],
    file: FileOption = DEFAULT_PLATFORM_FILE,
    images_from: Annotated[Path | None, typer.Option(
        "--images-from", exists=True, file_okay=False,
        help="A folder from kfops images save, instead of saving now.")] = None,
    wheelhouse: Annotated[Path | None, typer.Option(
        "--wheelhouse", exists=True, file_okay=False,
        help="A folder of wheels (kfops and its dependencies) instead of building one with "
             "pip.")] = None,
    creds_file: CredsOption = None,
    offline: OfflineOption = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Pack the rendered bundle, release, remote bases, prerequisites, images and wheels."""
    kit = create_offline_kit(archive, load_platform(file, allow_outside=allow_paths_outside),
                             RenderOptions(offline=offline), images_from=images_from,
                             wheelhouse=wheelhouse, authfile=creds_file,
                             progress=KitDisplay(output))
    packed = kit.packed
    if packed is None:
        report(kit.saved, output)
        return
    if output is Output.json:
        print_json({"archive": str(packed.path), "files": packed.files, "bytes": packed.size})
        return
    out.print(f"[green]wrote[/] {packed.path}: {packed.files} files, {packed.size / 1e6:.1f} MB")
    out.print("  on the offline machine: tar -xf it, then see docs/airgapped.md", markup=False)


class KitDisplay:
    """The kit's progress on stderr: a bar while images are saved, a line before pip runs
    (with -o json, neither)."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._bar: Bar | None = None

    def saving_images(self, total: int) -> None:
        self._bar = Bar(total, "saving images", self._output)
        self._bar.start()

    def image_saved(self, result: MirrorResult) -> None:
        if self._bar is not None:
            self._bar.done(result)

    def images_saved(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def building_wheelhouse(self) -> None:
        if self._output is Output.text:
            err.print("building the wheelhouse with pip")


@app.command(name="verify")
def verify_command(
    archive: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, help="A tar file from kfops bundle create.")],
    output: OutputOption = Output.text,
) -> None:
    """Check every file of the archive against its checksums (exit 1 on any difference)."""
    found = verify_offline_bundle(archive)
    if output is Output.json:
        print_json({"files": found.files, "problems": found.problems})
    else:
        for problem in found.problems:
            out.print(f"  [red]{problem}[/]", markup=True)
        state = "[red]damaged[/]" if found.problems else "[green]intact[/]"
        out.print(f"{state}: {found.files} files checked")
    if found.problems:
        raise typer.Exit(1)
