"""A written bundle checked against its lock before it is applied without rendering again
(`kfops apply --bundle`, `kfops plan --bundle`): the kfops version that wrote it, every
file's digest, files added to its stage folders, and where its secrets are."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfops._version import __version__
from kfops.errors import InputError
from kfops.objects import STAGES

from ._bundle import (
    LOCK,
    SECRETS,
    STATE_SECRETS,
    bundle_file_path,
    bundle_file_text,
    read_lock,
)
from ._contributions import GeneratedValue

GENERATED = "generated"
"""The lock's list of where generated values went (Secret and key, never the value)."""


def generated_entries(generated: Sequence[GeneratedValue]) -> list[dict[str, Any]]:
    """The lock's record of where the render wrote generated values (never a value)."""
    return [{"stateName": g.state_name, "kind": g.secret[1], "namespace": g.secret[2],
             "name": g.secret[3], "key": g.key, "rotatable": g.rotatable}
            for g in sorted(generated, key=lambda g: (g.secret, g.key))]


def generated_from_lock(folder: Path, lock: dict[str, Any]) -> list[GeneratedValue]:
    """Where the bundle's generated values are, as its lock records them."""
    entries = lock.get(GENERATED)
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and all(isinstance(e.get(k), str) and e.get(k)
                                        for k in ("stateName", "kind", "name", "key"))
            for e in entries):
        raise InputError(f"{folder / LOCK} does not record where its generated values are "
                         f"({GENERATED}); render the bundle again")
    return [GeneratedValue(str(e["stateName"]),
                           ("", str(e["kind"]), str(e.get("namespace") or ""), str(e["name"])),
                           str(e["key"]), e.get("rotatable") is not False) for e in entries]


@dataclass(frozen=True)
class ReviewedBundle:
    """A bundle on disk, checked against its lock: what to read, and what differs."""

    folder: Path
    lock: dict[str, Any]
    secrets_dir: Path | None
    """The state directory's copy of the files of `secrets/`, for a bundle without its own
    (None: read within the bundle folder, as every other file)."""
    paths: tuple[str, ...]
    """The bundle files present: the lock's, but those missing, and those added."""
    edited: tuple[str, ...]
    """Each file that differs from the lock: `<path>: changed | missing | added`."""


def review_bundle(folder: Path, state_dir: Path) -> ReviewedBundle:
    """Check the bundle in `folder` against its lock, reading nothing outside it (and the
    copy of its secrets in `state_dir`).

    InputError when another kfops version wrote it, or when its secrets are in
    neither place. The differences are returned, not raised: `--allow-edited`
    applies an edited bundle.
    """
    lock = read_lock(folder)
    written_by = lock.get("kfopsVersion")
    if written_by != __version__:
        raise InputError(f"{folder / LOCK}: the bundle was written by kfops {written_by}, this "
                         f"is kfops {__version__}; render it again with this kfops")
    listed: dict[str, Any] = lock["files"]
    secrets_dir = _secrets_dir(folder, state_dir, listed)
    paths, edited = [], []
    for relative, digest in sorted(listed.items()):
        located = bundle_file_path(folder, relative, secrets_dir)
        if not located.is_file():
            edited.append(f"{located}: missing")
            continue
        paths.append(relative)
        text = bundle_file_text(folder, relative, secrets_dir)
        if digest != "sha256:" + hashlib.sha256(text.encode()).hexdigest():
            edited.append(f"{located}: changed")
    for relative, located in _object_files(folder, secrets_dir):
        if relative not in listed:
            paths.append(relative)
            edited.append(f"{located}: added")
    return ReviewedBundle(folder, lock, secrets_dir, tuple(paths), tuple(edited))


def _secrets_dir(folder: Path, state_dir: Path, listed: dict[str, Any]) -> Path | None:
    """None when the bundle has its own `secrets/` (or needs none), else the state
    directory's copy; InputError when the lock lists secret files and neither is there.

    An empty `secrets/` (a checkout where someone made the folder) counts as none.
    """
    own, kept = folder / SECRETS, state_dir / STATE_SECRETS
    if (own.is_dir() and any(own.iterdir())) or not any(
            relative.startswith(f"{SECRETS}/") for relative in listed):
        return None
    if kept.is_dir():
        return kept
    raise InputError(f"the bundle's Secrets are in neither {own} nor {kept} (the copy "
                     "`kfops render` keeps in the state directory, KFOPS_STATE_DIR); copy "
                     f"the bundle's {SECRETS}/ folder over, or render it again")


def _object_files(folder: Path, secrets_dir: Path | None) -> list[tuple[str, Path]]:
    """(bundle path, where) of every object file in the stage folders, secrets included."""
    found = []
    for root, prefix in ((folder, ""), (secrets_dir or folder / SECRETS, f"{SECRETS}/")):
        for stage in STAGES:
            found += [(f"{prefix}{path.relative_to(root).as_posix()}", path)
                      for path in sorted((root / stage).rglob("*.yaml")) if path.is_file()]
    return found
