"""Remote kustomize bases: recognise them, find them in the cache, fetch missing ones.

The cache layout is the one of `../shared/upstream/remote-cache`:
`<host>/<owner>/<repo>/<ref>/<path>` for git bases and
`<host>/<owner>/<repo>/releases/download/<tag>/<file>` for release assets.
`KFOPS_GITHUB_URL` sends fetches for https://github.com to another base URL
(a mirror, GitHub Enterprise, a test server); the cache layout keeps the
original host so a cache filled through a mirror serves the same references.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from kfops.errors import RemoteBaseError

from ._http import GITHUB, DownloadError, download, github_base


@dataclass(frozen=True)
class RemoteRef:
    """One remote reference found in a kustomization."""

    url: str
    host: str
    repo: str
    """owner/repo for git bases and release assets; the URL path for other files."""
    ref: str
    path: str
    """Folder inside the repository (git) or the file name (asset)."""
    is_git: bool

    def cache_path(self, cache: Path) -> Path:
        """Where this reference lives in a remote cache laid out like upstream's."""
        if self.is_git:
            return cache / self.host / self.repo / self.ref / self.path
        if self.ref:
            return cache / self.host / self.repo / "releases" / "download" / self.ref / self.path
        return cache / self.host / self.repo / self.path

    def checkout_root(self, cache: Path) -> Path:
        """The cached checkout (git) or file (asset) that a fetch fills."""
        if self.is_git:
            return cache / self.host / self.repo / self.ref
        return self.cache_path(cache)


_ASSET = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/releases/download/(?P<tag>[^/]+)/(?P<file>[^/]+)$")


def parse_remote(value: str) -> RemoteRef | None:
    """The remote reference `value` names, or None for a local path."""
    text = value.strip()
    if text.startswith("github.com/"):
        text = f"https://{text}"
    if not text.startswith(("https://", "http://")):
        return None
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    asset = _ASSET.match(parts.path)
    if asset:
        return RemoteRef(value, parts.netloc, asset["repo"], asset["tag"], asset["file"], False)
    if re.search(r"\.ya?ml$", parts.path) and "ref" not in query and "version" not in query:
        folder, _, name = parts.path.strip("/").rpartition("/")
        return RemoteRef(value, parts.netloc, folder, "", name, False)
    ref = (query.get("ref") or query.get("version") or ["HEAD"])[0]
    repo, subpath = _split_repo(parts.path)
    return RemoteRef(value, parts.netloc, repo, ref, subpath, True)


def _split_repo(path: str) -> tuple[str, str]:
    """`/owner/repo//sub/dir`, `/owner/repo.git/sub` or `/owner/repo/sub` (GitHub style)."""
    path = path.lstrip("/")
    if "//" in path:
        repo, _, sub = path.partition("//")
    elif ".git/" in path or path.endswith(".git"):
        repo, _, sub = path.partition(".git")
        sub = sub.lstrip("/")
    else:
        pieces = path.split("/")
        repo, sub = "/".join(pieces[:2]), "/".join(pieces[2:])
    return repo.removesuffix(".git").strip("/"), sub.strip("/")


@dataclass(frozen=True)
class RemoteResolver:
    """Resolves remote references from the cache, fetching what is missing unless offline."""

    cache: Path
    offline: bool
    github_url: str = GITHUB

    @classmethod
    def from_environment(cls, cache: Path, offline: bool) -> RemoteResolver:
        """A resolver honouring `KFOPS_GITHUB_URL`."""
        return cls(cache, offline, github_base())

    def resolve(self, ref: RemoteRef) -> Path:
        """The local copy of `ref` (a folder for git bases, a file for assets)."""
        local = ref.cache_path(self.cache)
        if local.exists():
            return local
        if self.offline:
            raise RemoteBaseError(
                f"remote base {ref.url} is not in the cache (looked for {local}) and --offline "
                "forbids fetching it"
            )
        self._fetch(ref)
        if not local.exists():
            raise RemoteBaseError(
                f"fetched {ref.url} but {local} is not in it: check the path in the reference"
            )
        return local

    def _source_url(self, ref: RemoteRef) -> str:
        base = f"https://{ref.host}"
        if base == GITHUB:
            base = self.github_url
        elif ref.url.startswith("http://"):
            base = f"http://{ref.host}"
        return f"{base}/{ref.repo}"

    def _fetch(self, ref: RemoteRef) -> None:
        target = ref.checkout_root(self.cache)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as temp:
            staged = Path(temp) / "content"
            if ref.is_git:
                self._fetch_git(ref, staged)
            else:
                self._fetch_file(ref, staged)
            if not target.exists():
                staged.rename(target)

    def _fetch_git(self, ref: RemoteRef, staged: Path) -> None:
        url = self._source_url(ref)
        git = shutil.which("git")
        if git is None:
            raise RemoteBaseError(f"cannot fetch {ref.url}: git is not installed")
        staged.mkdir()
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([git, *args], cwd=staged, capture_output=True, text=True,
                                  check=False, env=env, timeout=600)

        run("init", "-q")
        # Shallow first; the dumb HTTP protocol (static file servers) cannot do shallow.
        fetched = run("fetch", "-q", "--depth", "1", url, ref.ref)
        if fetched.returncode != 0:
            fetched = run("fetch", "-q", url, ref.ref)
        if fetched.returncode != 0:
            raise RemoteBaseError(
                f"cannot fetch {ref.url} (git fetch {url} {ref.ref}): "
                f"{fetched.stderr.strip().splitlines()[-1] if fetched.stderr.strip() else 'failed'}"
            )
        checkout = run("-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD")
        if checkout.returncode != 0:
            raise RemoteBaseError(f"cannot check out {ref.url}: {checkout.stderr.strip()}")
        shutil.rmtree(staged / ".git")

    def _fetch_file(self, ref: RemoteRef, staged: Path) -> None:
        if ref.ref:
            url = f"{self._source_url(ref)}/releases/download/{ref.ref}/{ref.path}"
        else:
            url = f"{self._source_url(ref)}/{ref.path}"
        try:
            staged.write_bytes(download(url, timeout=60))
        except DownloadError as error:
            raise RemoteBaseError(f"cannot fetch {ref.url} ({url}): {error}") from error
