"""The Kubeflow release to render: a local checkout or a release archive, located and digested."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kfops.config import LoadedPlatform, is_url
from kfops.errors import ConfigError, ReleaseSourceError

from ._http import DownloadError, download, github_base, through_mirror
from ._paths import sha256_text, staging_dir, tree_digest, write_atomic

ARCHIVE_URL = "https://github.com/kubeflow/manifests/archive/refs/tags/{version}.tar.gz"


@dataclass(frozen=True)
class ReleaseSource:
    """An unpacked release whose `example/kustomization.yaml` kfops reads."""

    root: Path
    origin: str
    """The source as written in the platform file (or the default archive URL)."""
    digest: str
    """sha256 of the archive, or of the checkout's files."""
    is_archive: bool
    tag: str | None = None
    """The git tag a local checkout is at, when it is a tagged git checkout."""


def locate_release(loaded: LoadedPlatform, cache: Path, offline: bool) -> ReleaseSource:
    """The release `spec.release` names: a local path, or an archive fetched once into the cache."""
    release = loaded.platform.spec.release
    origin = release.source or ARCHIVE_URL.format(version=release.version)
    if is_url(origin):
        return _archive_release(origin, cache, offline)
    root = loaded.checked_path(origin, "folder", ("spec", "release", "source"))
    try:
        release_root = _release_root(root, origin)
    except ReleaseSourceError as error:  # a folder of the user's that is not a release
        # adds nothing: its message is here
        raise ConfigError([loaded.problem(("spec", "release", "source"), str(error))]) from None
    return ReleaseSource(release_root, origin, tree_digest(root, cache / "trees"), False,
                         _git_tag(root))


def _git_tag(folder: Path) -> str | None:
    """The tag HEAD is at, for a checkout that is a git repository of its own."""
    if not (folder / ".git").exists():
        return None  # a folder inside the administrator's own repository: its tags say nothing
    try:
        # The checkout may come from anyone: nothing its own git config names is run
        # (fsmonitor is the one hook a read-only command could start).
        answer = subprocess.run(["git", "-c", "core.fsmonitor=false", "-C", str(folder),
                                 "describe", "--tags", "--exact-match", "HEAD"],
                                capture_output=True, text=True, timeout=30, check=False,
                                env={**os.environ, "GIT_TERMINAL_PROMPT": "0",
                                     "GIT_PAGER": "cat"})
    except (OSError, subprocess.SubprocessError):
        return None
    return (answer.stdout.strip() or None) if answer.returncode == 0 else None


def _release_root(folder: Path, origin: str) -> Path:
    if (folder / "example" / "kustomization.yaml").is_file():
        return folder
    inner = [p for p in folder.iterdir() if (p / "example" / "kustomization.yaml").is_file()] \
        if folder.is_dir() else []
    if len(inner) == 1:
        return inner[0]
    raise ReleaseSourceError(
        f"{origin} is not a kubeflow/manifests release: no example/kustomization.yaml in {folder}"
    )


def _archive_release(url: str, cache: Path, offline: bool) -> ReleaseSource:
    home = cache / "releases" / sha256_text(url)[:32]
    archive = home / ("archive.zip" if url.endswith(".zip") else "archive.tar.gz")
    unpacked = home / "tree"
    if not archive.exists():
        if offline:
            raise ReleaseSourceError(
                f"release archive {url} is not in the cache ({archive}) and --offline forbids "
                "downloading it"
            )
        write_atomic(archive, _download(url))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if not unpacked.exists():
        with staging_dir(unpacked) as staged:
            _unpack(archive, staged)
    return ReleaseSource(_release_root(unpacked, url), url, digest, True)


def _download(url: str) -> bytes:
    mapped = through_mirror(url, github_base())
    try:
        return download(mapped, timeout=300)
    except DownloadError as error:
        raise ReleaseSourceError(f"cannot download {mapped}: {error}") from error


def _unpack(archive: Path, into: Path) -> None:
    try:
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(into)
        else:
            with tarfile.open(archive) as bundle:
                bundle.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as error:
        raise ReleaseSourceError(f"cannot unpack {archive}: {error}") from error
