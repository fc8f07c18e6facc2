"""`kfops images list|mirror|save|load`: the platform's images, into a private registry or onto
disk and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kfops.airgap import MirrorResult, load_saved_images, saved_images
from kfops.config import DEFAULT_PLATFORM_FILE, airgap_registry
from kfops.errors import InputError
from kfops.operations import platform_airgap, platform_images
from kfops.render import RenderOptions

from ._options import (
    AllowPathsOption,
    FileOption,
    OfflineOption,
    Output,
    OutputOption,
    command_group,
)
from ._output import err, out, print_json

app = command_group("Air-gap: the platform's images; copy them to a private registry, or to "
                       "disk and back.")

BundleOption = Annotated[Path | None, typer.Option(
    "--bundle", exists=True, file_okay=False,
    help="A written bundle instead of rendering the platform file.")]
ImagesOption = Annotated[Path | None, typer.Option(
    "--images", exists=True, dir_okay=False,
    help="A list of images, one per line (like a bundle's images.txt), instead.")]
ParallelOption = Annotated[int, typer.Option(
    "--parallel", min=1, max=32, help="Images copied at once.")]
CredsOption = Annotated[Path | None, typer.Option(
    "--creds-file", exists=True, dir_okay=False,
    help="Registry credentials (containers auth.json format); default: skopeo's own "
         "($XDG_RUNTIME_DIR/containers/auth.json).")]


def _registry(value: str) -> str:
    """`--to`: a registry host (with a dot, a port or localhost), as airgap.registry."""
    try:
        return airgap_registry(value)
    except InputError as error:
        raise typer.BadParameter(str(error)) from None  # the message is the whole story


ToOption = Annotated[str, typer.Option(
    "--to", callback=_registry, help="The private registry, host[:port][/path].")]


@app.command(name="list")
def list_command(file: FileOption = DEFAULT_PLATFORM_FILE, bundle: BundleOption = None,
                 offline: OfflineOption = False, allow_paths_outside: AllowPathsOption = False,
                 output: OutputOption = Output.text) -> None:
    """Every image the platform pulls, with where each is named (-o json for scripts)."""
    entries = platform_images(file, bundle=bundle, render_options=RenderOptions(offline=offline),
                              allow_outside=allow_paths_outside).inventory()
    if output is Output.json:
        print_json([{"source": e.source, "destination": e.destination, "foundIn": e.places}
                    for e in entries])
        return
    for entry in entries:
        arrow = f"  ->  {entry.destination}" if entry.destination else ""
        out.print(f"{entry.source}{arrow}  ({len(entry.places)} place"
                  f"{'s' if len(entry.places) != 1 else ''})", markup=False)
    out.print(f"{len(entries)} images")


@app.command(name="mirror")
def mirror_command(
    to: ToOption,
    file: FileOption = DEFAULT_PLATFORM_FILE, bundle: BundleOption = None,
    images: ImagesOption = None, parallel: ParallelOption = 4, creds_file: CredsOption = None,
    offline: OfflineOption = False, allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Copy every image into a registry with skopeo (all architectures, digests kept)."""
    found = platform_images(file, bundle=bundle, images=images,
                            render_options=RenderOptions(offline=offline),
                            allow_outside=allow_paths_outside)
    with Bar(len(found.images), f"mirroring to {to}", output) as bar:
        results = found.mirror(to, authfile=creds_file, parallel=parallel, on_done=bar.done)
    report(results, output)


@app.command(name="save")
def save_command(
    folder: Annotated[Path, typer.Argument(
        file_okay=False, help="Where the images go (an OCI layout inside).")],
    file: FileOption = DEFAULT_PLATFORM_FILE, bundle: BundleOption = None,
    images: ImagesOption = None, creds_file: CredsOption = None, offline: OfflineOption = False,
    allow_paths_outside: AllowPathsOption = False, output: OutputOption = Output.text,
) -> None:
    """Write every image to disk; layers shared by several images are stored once."""
    found = platform_images(file, bundle=bundle, images=images,
                            render_options=RenderOptions(offline=offline),
                            allow_outside=allow_paths_outside)
    with Bar(len(found.images), f"saving to {folder}", output) as bar:
        results = found.save(folder, authfile=creds_file, on_done=bar.done)
    report(results, output)


@app.command(name="load")
def load_command(
    folder: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, help="A folder written by kfops images save.")],
    to: ToOption,
    file: FileOption = DEFAULT_PLATFORM_FILE, parallel: ParallelOption = 4,
    creds_file: CredsOption = None, output: OutputOption = Output.text,
) -> None:
    """Push saved images into a registry (airgap.keepSourceHost and insecure from the file)."""
    airgap = platform_airgap(file)
    with Bar(len(saved_images(folder)), f"loading into {to}", output) as bar:
        results = load_saved_images(folder, to, airgap, authfile=creds_file, parallel=parallel,
                                    on_done=bar.done)
    report(results, output)


class Bar:
    """A progress bar on stderr (none with -o json) that counts finished images."""

    def __init__(self, total: int, what: str, output: Output) -> None:
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                                  disable=output is Output.json)
        self._task = self._progress.add_task(what, total=total)

    def __enter__(self) -> Bar:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Draw the bar (until `stop`)."""
        self._progress.start()

    def stop(self) -> None:
        """Take the bar away."""
        self._progress.stop()

    def done(self, result: MirrorResult) -> None:
        """One image finished (from any worker thread)."""
        self._progress.advance(self._task)
        del result


def report(results: list[MirrorResult], output: Output) -> None:
    counts = {o: sum(1 for r in results if r.outcome == o) for o in ("copied", "skipped",
                                                                      "failed")}
    if output is Output.json:
        print_json({**counts, "images": [
            {"source": r.source, "destination": r.destination, "outcome": r.outcome,
             "reason": r.reason, "digest": r.digest} for r in results]})
    else:
        table = Table("image", "to", "outcome", "reason")
        colours = {"copied": "green", "skipped": "dim", "failed": "red"}
        for r in results:
            table.add_row(r.source, r.destination, f"[{colours[r.outcome]}]{r.outcome}[/]",
                          r.reason)
        out.print(table)
        out.print(", ".join(f"{n} {o}" for o, n in counts.items()))
    if counts["failed"]:
        raise typer.Exit(1)


