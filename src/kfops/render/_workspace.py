"""The build workspace: an untouched copy of the release with remote bases made local.

kustomize fetches remote bases itself, over the network, on every build. To
render offline and reproducibly, kfops copies the release into the cache,
copies every remote base it references from the remote cache into the copy
(`_remote/`), and points the references at those copies. The user's checkout
is never written to. The copy is keyed by the digests of the release and of
every remote base, so it is made once and reused.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from kfops.errors import ReleaseSourceError

from ._paths import sha256_text, staging_dir, tree_digest
from ._remote import RemoteRef, RemoteResolver, parse_remote
from ._source import ReleaseSource

FORMAT = "1"
_KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_REFERENCE_FIELDS = ("resources", "bases", "components")


@dataclass(frozen=True)
class Workspace:
    """A prepared copy of a release that kustomize can build offline."""

    root: Path
    key: str
    remotes: tuple[tuple[str, str], ...]
    """(remote reference, digest of its cached content), sorted."""


def prepare_workspace(source: ReleaseSource, resolver: RemoteResolver, cache: Path) -> Workspace:
    """The workspace for `source`, made now unless an identical one is cached."""
    remotes = _resolve_all(source.root, resolver)
    digests = tuple(sorted(
        (ref.url, tree_digest(local, cache / "trees") if local.is_dir() else _file_digest(local))
        for ref, local in remotes
    ))
    key = sha256_text(FORMAT, source.digest, *[f"{u}={d}" for u, d in digests])[:32]
    root = cache / "workspaces" / key
    if not (root / ".complete").exists():
        with staging_dir(root) as staged:
            _populate(staged, source.root, resolver.cache, remotes)
            (staged / ".complete").write_text(key)
    return Workspace(root, key, digests)


def _file_digest(path: Path) -> str:
    return sha256_text(path.read_bytes().hex())


def _resolve_all(root: Path, resolver: RemoteResolver) -> list[tuple[RemoteRef, Path]]:
    """Every remote reference under `root`, and in the remote bases it pulls in."""
    found: dict[str, tuple[RemoteRef, Path]] = {}
    pending = [root]
    while pending:
        folder = pending.pop()
        for _, ref in _remote_refs(folder):
            if ref.url in found:
                continue
            local = resolver.resolve(ref)
            found[ref.url] = (ref, local)
            if ref.is_git:
                pending.append(ref.checkout_root(resolver.cache))
    return sorted(found.values(), key=lambda item: item[0].url)


def _remote_refs(root: Path) -> Iterator[tuple[Path, RemoteRef]]:
    for file in _kustomizations(root):
        text = file.read_text(encoding="utf-8")
        if "://" not in text and "github.com/" not in text:
            continue
        try:
            document = yaml.load(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError as error:
            raise ReleaseSourceError(f"{file} is not valid YAML: {error}") from None
        if not isinstance(document, dict):
            continue
        for field in _REFERENCE_FIELDS:
            for entry in document.get(field) or []:
                ref = parse_remote(entry) if isinstance(entry, str) else None
                if ref is not None:
                    yield file, ref


def _kustomizations(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in _KUSTOMIZATION_NAMES:
            if name in files:
                yield Path(folder) / name


def _populate(
    staged: Path, release: Path, cache: Path, remotes: list[tuple[RemoteRef, Path]]
) -> None:
    shutil.copytree(release, staged / "release", symlinks=True,
                    ignore=shutil.ignore_patterns(".git"), copy_function=_link_or_copy)
    local_of: dict[str, Path] = {}
    for ref, cached in remotes:
        inside = staged / "_remote" / ref.cache_path(Path())
        if ref.is_git:
            checkout = staged / "_remote" / ref.checkout_root(Path())
            if not checkout.exists():
                shutil.copytree(ref.checkout_root(cache), checkout, symlinks=True,
                                copy_function=_link_or_copy)
            local_of[ref.url] = inside
        else:
            # A file resource outside the kustomization root is refused by kustomize's
            # load restrictor; a folder holding the file and a kustomization is not.
            wrapper = inside.parent / f"_{inside.name}"
            wrapper.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, wrapper / inside.name)
            (wrapper / "kustomization.yaml").write_text(f"resources:\n- {inside.name}\n")
            local_of[ref.url] = wrapper
    for file, ref in list(_remote_refs(staged)):
        _point_at_copy(file, ref.url, local_of[ref.url])


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link a file into the workspace (fast, no data copied), or copy it across devices.

    Linked files share their content with the user's checkout, so the workspace
    never writes into a file: the few it changes are replaced (see _point_at_copy).
    """
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _point_at_copy(file: Path, url: str, copy: Path) -> None:
    relative = os.path.relpath(copy, file.parent)
    text = file.read_text(encoding="utf-8")
    pattern = re.compile(r"(^\s*-\s*[\"']?)" + re.escape(url) + r"([\"']?\s*(#.*)?$)", re.MULTILINE)
    replaced = file.with_name(f".{file.name}.kfops")
    replaced.write_text(pattern.sub(lambda m: f"{m.group(1)}{relative}{m.group(2)}", text),
                        encoding="utf-8")
    # os.replace swaps the directory entry; the linked original keeps its content.
    os.replace(replaced, file)
