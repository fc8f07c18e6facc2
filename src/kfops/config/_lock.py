"""One editor of a file at a time: an exclusive `fcntl` lock on a lock file beside it.

The lock file is `.<name>.lock` in the file's folder. Its holder writes who it
is (PID, host, user, since when) into it, so a second editor can say whom it
waits for. The kernel drops the lock when the holder's process ends, killed
or not, so a crash never leaves the file locked; the holder removes the lock
file as it releases the lock, and a taker checks that the file it locked is
still the one at the path, so a file removed meanwhile is never trusted.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kfops.errors import Busy, OperationError


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as it wrote itself into the lock file."""

    pid: int | None
    host: str
    user: str
    since: str

    def __str__(self) -> str:
        if self.pid is None:
            return "another kfops command (it has not said who it is yet)"
        return f"PID {self.pid} on {self.host} ({self.user}, since {self.since})"


WaitNotice = Callable[[Holder], None]
"""Told once, after `notice_after` seconds of waiting, who holds the lock."""


def lock_path(path: Path) -> Path:
    """The lock file of `path`: `.<name>.lock` beside it."""
    return path.parent / f".{path.name}.lock"


@contextlib.contextmanager
def exclusive(path: Path, *, wait: bool = True, on_wait: WaitNotice | None = None,
              notice_after: float = 1.0, poll: float = 0.05) -> Iterator[None]:
    """Hold the lock of `path` for the duration of the block.

    Waits for another holder unless `wait` is False (then Busy names it).
    """
    lock = lock_path(path)
    started = time.monotonic()
    noticed = False
    while True:
        fd = _open(lock)
        if _try_lock(fd) and _still_at(fd, lock):
            break
        holder = _read_holder(fd)
        os.close(fd)
        if not wait:
            raise Busy(f"{path.name} is being edited by {holder}; nothing was changed "
                       "(leave out --no-wait to wait for it)")
        if not noticed and on_wait is not None and time.monotonic() - started >= notice_after:
            on_wait(holder)
            noticed = True
        time.sleep(poll)
    try:
        _write_holder(fd)
        yield
    finally:
        # Removed while still held: whoever opens the path next creates a new file.
        lock.unlink(missing_ok=True)
        os.close(fd)


def _open(lock: Path) -> int:
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise OperationError(f"cannot create the lock file {lock}: {error.strerror}") from error


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_at(fd: int, lock: Path) -> bool:
    """Whether the locked file is still the one at `lock` (its holder may have removed it)."""
    try:
        at_path = lock.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (at_path.st_dev, at_path.st_ino)


def _write_holder(fd: int) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "user": _user(),
              "since": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)


def _read_holder(fd: int) -> Holder:
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return Holder(None, "", "", "")
    return Holder(record["pid"], str(record.get("host", "?")), str(record.get("user", "?")),
                  str(record.get("since", "?")))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's random user)
        return str(os.getuid())
