"""Where kfops keeps its caches, and small file helpers shared by the render steps."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kfops.config import kfops_cache_dir


def cache_root() -> Path:
    """`KFOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/kfops`, else `~/.cache/kfops`."""
    return kfops_cache_dir()


def sha256_text(*parts: str) -> str:
    """sha256 of the parts joined by NUL (so `("ab", "c")` differs from `("a", "bc")`)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        temp.chmod(mode)
        temp.replace(path)
    except BaseException:  # any exit (Ctrl-C too) leaves no temporary file; re-raised
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def read_json(path: Path) -> Any | None:
    """The JSON in `path`, or None when it is missing or unreadable (a cache miss)."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_json(path: Path, value: Any) -> None:
    """Write `value` as compact JSON, atomically."""
    write_atomic(path, json.dumps(value, separators=(",", ":")).encode())


@contextlib.contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """A temporary sibling of `final` that replaces it when the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        yield temp
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            final.rename(old)
            temp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            temp.rename(final)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


def tree_digest(root: Path, memo_dir: Path) -> str:
    """sha256 of every file's relative path and content under `root`.

    Hashing a 27 MB release on every render would cost more than the whole
    no-change re-render budget, so the digest is remembered against the
    tree's (path, size, mtime) signature and recomputed only when that changes.
    """
    files = _files(root)
    signature = hashlib.sha256()
    for relative, stat in files:
        signature.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    memo = memo_dir / f"{sha256_text(str(root.resolve()))}.json"
    remembered = read_json(memo)
    if isinstance(remembered, dict) and remembered.get("signature") == signature.hexdigest():
        return str(remembered["digest"])
    content = hashlib.sha256()
    for relative, _ in files:
        content.update(relative.encode() + b"\0")
        content.update(hashlib.sha256((root / relative).read_bytes()).digest())
    digest = content.hexdigest()
    write_json(memo, {"signature": signature.hexdigest(), "digest": digest})
    return digest


def _files(root: Path) -> list[tuple[str, os.stat_result]]:
    """(relative POSIX path, stat) of every file under `root`, sorted; `.git` skipped."""
    found: list[tuple[str, os.stat_result]] = []
    base = str(root)
    for folder, dirs, names in os.walk(base):
        dirs[:] = [d for d in dirs if d != ".git"]
        prefix = os.path.relpath(folder, base)
        for name in names:
            # os.* on str paths on purpose: this loop stats every file of a release tree,
            # where building a Path per file would cost more.
            stat = os.stat(os.path.join(folder, name))  # noqa: PTH116, PTH118
            found.append((name if prefix == "." else f"{prefix}/{name}".replace(os.sep, "/"), stat))
    found.sort()
    return found
