"""The rich progress display of a render."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ._output import err


class RenderBar:
    """A RenderProgress that draws one bar on stderr (nothing when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err, transient=True,
        )
        self._task = self._progress.add_task("rendering", total=None)

    def __enter__(self) -> RenderBar:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def step(self, name: str) -> None:
        self._progress.update(self._task, description=name)

    def units(self, total: int) -> None:
        self._progress.update(self._task, total=total, completed=0)

    def unit_done(self, label: str) -> None:
        self._progress.update(self._task, advance=1)
