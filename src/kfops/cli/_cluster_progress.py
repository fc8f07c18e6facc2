"""The rich display of an apply: one bar per step, and what a wait is waiting for."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ._output import err


class ApplyBar:
    """An ApplyProgress drawing on stderr (transient; the summary stays on stdout)."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err, transient=True,
        )
        self._task = self._progress.add_task("connecting", total=None)

    def __enter__(self) -> ApplyBar:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._progress.stop()

    def pause(self) -> None:
        """Stop drawing (while a question is asked)."""
        self._progress.stop()

    def resume(self) -> None:
        """Draw again."""
        self._progress.start()

    def step(self, label: str, total: int) -> None:
        self._progress.update(self._task, description=label, total=total, completed=0)

    def object_done(self, what: str, outcome: str) -> None:
        self._progress.update(self._task, advance=1)

    def waiting(self, what: str, reasons: list[str]) -> None:
        if reasons:
            more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
            self._progress.update(self._task, description=f"waiting: {reasons[0]}{more}")
