"""The backup folder: its name, its manifest, and files only the owner can read.

A backup holds the install's state directory (generated secrets) and custom
objects that may carry credentials, so the folder is created 0700 and every
file 0600 from its first byte (the umask can only take bits away). The
manifest is written last: a folder without one is an interrupted backup, and
restore refuses it like any folder that is not a kfops backup.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kfops.errors import InputError, OperationError

MANIFEST = "manifest.json"
BACKUP_API_VERSION = "kfops.io/v1alpha1"
BACKUP_KIND = "Backup"
INVENTORY = "inventory.json"
STATE = "state"
OBJECTS = "objects"


def timestamp(now: datetime | None = None) -> str:
    """The UTC time as it appears in a backup's name: 20260314T120000Z."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def default_folder(platform: str, now: datetime | None = None) -> Path:
    """`./kfops-backup-<platform>-<UTC timestamp>`."""
    return Path(f"kfops-backup-{platform}-{timestamp(now)}")


def create_folder(folder: Path) -> None:
    """Make the backup folder, 0700; an existing non-empty folder is refused (a backup is
    never mixed into another one)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"--out {folder}: exists and is not an empty folder; name a new one")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # an empty folder the user made keeps no wider mode
        for sub in (OBJECTS, STATE):
            (folder / sub).mkdir(mode=0o700)
    except OSError as error:
        raise OperationError(f"cannot create the backup folder {folder}: {error}") from error


def write_private(path: Path, text: str) -> None:
    """Write `path` created 0600 (never readable by others, not even for a moment)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise OperationError(f"cannot write {path}: {error}") from error


def write_json(path: Path, value: Any) -> None:
    """`value` as indented JSON in a 0600 file."""
    write_private(path, json.dumps(value, indent=2, sort_keys=False) + "\n")


def copy_state(source: Path, target: Path) -> list[str]:
    """Copy the regular files of the state directory `source` into `target` (0600 each);
    the names copied, relative to `source`. Symbolic links are not followed: a state
    directory holds files kfops wrote, nothing it points elsewhere for."""
    copied = []
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        relative = path.relative_to(source)
        destination = target / relative
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out, path.open("rb") as data:
                shutil.copyfileobj(data, out)
        except OSError as error:
            raise OperationError(f"cannot copy {path} into the backup: {error}") from error
        copied.append(str(relative))
    return copied


@dataclass(frozen=True)
class Manifest:
    """What a backup folder's manifest.json says (only what restore needs is typed)."""

    folder: Path
    platform: str
    document: dict[str, Any]

    @property
    def kinds(self) -> dict[str, dict[str, Any]]:
        """Per kind (`Kind.group`): apiVersion, scope, file and counts."""
        return dict(self.document.get("objects") or {})

    @property
    def dumps(self) -> dict[str, Any] | None:
        """The database dumps: the PVC and the files in it (None: taken without them)."""
        return self.document.get("dumps")


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the backup in `folder`; InputError when it is not a kfops backup."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder} is not a kfops backup (it has no {MANIFEST}; an "
                         "interrupted backup has none either)") from None
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot be read as JSON: {error}") from error
    if not isinstance(document, dict) or (document.get("apiVersion"), document.get("kind")) != (
            BACKUP_API_VERSION, BACKUP_KIND):
        raise InputError(f"{path} is not a kfops backup manifest (apiVersion "
                         f"{BACKUP_API_VERSION}, kind {BACKUP_KIND})")
    platform = document.get("platform")
    if not isinstance(platform, str) or not platform:
        raise InputError(f"{path}: platform: missing")
    if not isinstance(document.get("objects") or {}, dict):
        raise InputError(f"{path}: objects: not a mapping of kinds")
    return Manifest(folder, platform, document)


def read_objects(manifest: Manifest, kind: str) -> list[dict[str, Any]]:
    """The objects of `kind` the backup holds (its one list file)."""
    entry = manifest.kinds[kind]
    relative = str(entry.get("file") or "")
    path = manifest.folder / relative
    if not relative or Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise InputError(f"{manifest.folder / MANIFEST}: objects.{kind}.file: not a file "
                         "inside the backup folder")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot be read as a list of objects: {error}") from error
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError(f"{path}: not a List of objects (items)")
    return items
