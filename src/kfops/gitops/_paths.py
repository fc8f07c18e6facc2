"""Where a bundle folder sits in its git repository."""

from __future__ import annotations

from pathlib import Path


def path_in_repository(folder: Path) -> str:
    """`folder` relative to the root of the git worktree holding it (the nearest parent with
    a `.git`), else its own name: the default of `--repo-path`."""
    absolute = folder.resolve()
    for parent in (absolute, *absolute.parents):
        if (parent / ".git").exists():
            return absolute.relative_to(parent).as_posix()  # "." at the worktree's root
    return absolute.name
