"""Starter platform files written by `kfops init`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from kfops.config import TARGETS
from kfops.errors import InputError

IGNORED = (".kfops/", "bundle/secrets/")
"""What `kfops init` keeps out of git: the state directory and the bundle's Secrets."""


def starter_text(target: str) -> str:
    """The commented starter platform file of `target`."""
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    return (resources.files("kfops.targets") / "starters" / f"{target}.yaml").read_text(
        encoding="utf-8")


def write_starter(target: str, path: Path, force: bool = False) -> list[Path]:
    """Write the starter of `target` to `path` and keep secrets (state, bundle) out of git.

    Returns the files written or changed. An existing platform file is kept
    unless `force`.
    """
    text = starter_text(target)
    if path.exists() and not force:
        raise InputError(f"{path} exists; pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    written = [path]
    ignore = path.parent / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [entry for entry in IGNORED if entry not in lines]
    if missing:
        ignore.write_text("\n".join([*lines, *missing]) + "\n", encoding="utf-8")
        written.append(ignore)
    return written
