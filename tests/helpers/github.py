"""A stand-in for github.com on 127.0.0.1: release archives, release assets, git repositories.

Git repositories are served over git's "dumb" HTTP protocol (static files after
`git update-server-info`), which real git clients fetch from; the contents come
from the real upstream remote-cache and manifests, never hand-made copies.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` over HTTP on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def git_repository(checkout: Path, served: Path, repo: str, tag: str) -> None:
    """Publish `checkout` as the bare repository `served/<repo>` with `tag`."""
    work = served / ".work" / repo
    shutil.copytree(checkout, work)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "HOME": str(served), "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "release"], ["tag", tag]):
        subprocess.run(["git", *args], cwd=work, check=True, env=env)
    bare = served / repo
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, env=env)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True, env=env)


def release_archive(release: Path, target: Path, top: str) -> Path:
    """A GitHub-style tar.gz of a release folder (one top-level folder named `top`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive:
        archive.add(release, arcname=top)
    return target


def mirror_remote_cache(remote_cache: Path, served: Path) -> None:
    """Serve every base of the upstream remote-cache the way GitHub serves it."""
    github = remote_cache / "github.com"
    for owner in sorted(p for p in github.iterdir() if p.is_dir()):
        for repo in sorted(p for p in owner.iterdir() if p.is_dir()):
            for ref in sorted(p for p in repo.iterdir() if p.is_dir() and p.name != "releases"):
                git_repository(ref, served, f"{owner.name}/{repo.name}", ref.name)
            assets = repo / "releases"
            if assets.is_dir():
                shutil.copytree(assets, served / owner.name / repo.name / "releases")
