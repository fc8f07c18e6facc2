"""Reading the files a platform file names, within limits a hostile file cannot move.

A platform file often arrives in a pull request that a pipeline renders, so
the paths in it (`{file}`, every `source`, `release.source`, `remoteCache`)
are untrusted:

- a path must resolve (after `..` and symbolic links) to a regular file, or a
  folder where a folder is meant; `/dev`, `/proc` and `/sys` are never read,
  nor FIFOs, sockets or devices anywhere (opened without blocking, checked
  before a byte is read);
- a file is read only up to its size limit (below);
- a path must lie inside the platform file's folder, kfops's cache, or a folder
  allowed by `spec.allowedPaths` (reviewed with the file), by
  `KFOPS_ALLOWED_PATHS` (set by whoever runs kfops, e.g. a pipeline) or, for
  any folder, by `--allow-paths-outside`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: The platform file itself.
PLATFORM_FILE_LIMIT = 1 << 20
#: A `{file}` secret: a Kubernetes Secret holds at most 1 MiB in all.
SECRET_FILE_LIMIT = 1 << 20
#: A manifest (`source` files, bundle files): 2.5 times a whole rendered Kubeflow 26.03.
MANIFEST_FILE_LIMIT = 32 << 20
#: The CSV of `kfops user import`: its users must fit in the platform file (1 MiB).
CSV_FILE_LIMIT = 1 << 20
#: Folders of the kernel's and devices' pseudo-files: never read through a platform file.
SYSTEM_FOLDERS = (Path("/dev"), Path("/proc"), Path("/sys"))
#: Variables naming extra folders (os.pathsep-separated) paths in platform files may point into.
ALLOWED_PATHS_ENV = "KFOPS_ALLOWED_PATHS"

Kind = Literal["file", "folder", "cache"]
"""What a path must name: a file, a folder, or a folder kfops may create (a cache)."""


class FileRefused(Exception):
    """A path or file kfops will not read; the message says why and what is allowed."""


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`, refused when it is larger than `limit`.

    The file is opened without blocking (a FIFO would otherwise wait forever) and
    checked with fstat before anything is read; OSError (missing, no permission)
    passes through.
    """
    refuse_system(path, str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except ValueError as error:  # a NUL byte in the name
        # the ValueError adds nothing: its message is here
        raise FileRefused(f"{path!r} is not a usable path ({error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path} is {_kind_of(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileRefused(_too_large(path, limit))
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while being read
        raise FileRefused(_too_large(path, limit))
    return data


def refuse_system(path: Path, shown: str) -> None:
    """Refuse a path under /dev, /proc or /sys (after resolving links and `..`)."""
    target = _resolved(path, shown)
    for folder in SYSTEM_FOLDERS:
        if target == folder or folder in target.parents:
            raise FileRefused(f"{shown} is under {folder} ({target}); kfops reads only "
                              "regular files and folders")


def _resolved(path: Path, shown: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a link loop, a NUL byte
        raise FileRefused(f"{shown!r} is not a usable path ({error})") from error


def size_text(limit: int) -> str:
    """A limit in MiB or KiB, as the messages and docs give it."""
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


def _too_large(path: Path, limit: int) -> str:
    return f"{path} is larger than {size_text(limit)}, the most kfops reads from such a file"


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


@dataclass(frozen=True)
class PathRules:
    """Where paths of one platform file may point."""

    base: Path
    """The platform file's folder (paths are relative to it)."""
    allowed: tuple[Path, ...] = ()
    """Further folders, resolved."""
    anywhere: bool = False
    """`--allow-paths-outside`: any folder but /dev, /proc and /sys."""

    def resolve(self, value: str) -> Path:
        """`value` made absolute relative to the base, `~` expanded, links resolved."""
        return _resolved(self.base / Path(value).expanduser(), value)

    def check(self, value: str, kind: Kind) -> Path:
        """The resolved path of `value`; FileRefused says what is wrong."""
        target = self.resolve(value)
        refuse_system(target, value)
        try:
            return self._checked(value, target, kind)
        except OSError as error:
            raise FileRefused(f"cannot read {value} ({target}): {error.strerror or error}") \
                from error

    def _checked(self, value: str, target: Path, kind: Kind) -> Path:
        if not self.anywhere and not self.inside(target):
            raise FileRefused(
                f"{value} ({target}) is outside the platform file's folder; list the folder "
                "that holds it in spec.allowedPaths or KFOPS_ALLOWED_PATHS, or pass "
                "--allow-paths-outside")
        if not target.exists():
            if kind == "cache":
                return target
            raise FileRefused(f"{value} does not exist (looked for {target})")
        if kind in ("folder", "cache") and not target.is_dir():
            raise FileRefused(f"{value} ({target}) is not a folder")
        if kind == "file" and not target.is_file():
            what = "a folder" if target.is_dir() else _kind_of(target.stat().st_mode)
            raise FileRefused(f"{value} ({target}) is {what}, not a regular file")
        return target

    def inside(self, target: Path) -> bool:
        """Whether the resolved `target` lies in the base or an allowed folder."""
        return any(target == root or root in target.parents
                   for root in (self.base.resolve(), *self.allowed))


def allowance_problem(value: str, base: Path) -> str | None:
    """Why the `spec.allowedPaths` entry `value` is refused, or None."""
    try:
        target = _resolved(base / Path(value).expanduser(), value)
        refuse_system(target, value)
    except FileRefused as error:
        return str(error)
    home = Path.home().resolve()
    if target == home or target in home.parents or target == Path(target.anchor):
        return (f"{value} ({target}) would open every file of the home folder or the whole "
                "machine; name the folder that holds the files")
    return None


def allowed_from_environment() -> tuple[Path, ...]:
    """The folders in `KFOPS_ALLOWED_PATHS`, resolved."""
    entries: Sequence[str] = os.environ.get(ALLOWED_PATHS_ENV, "").split(os.pathsep)
    return tuple(Path(e).expanduser().resolve() for e in entries if e.strip())


def kfops_cache_dir() -> Path:
    """`KFOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/kfops`, else `~/.cache/kfops`."""
    explicit = os.environ.get("KFOPS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kfops"
