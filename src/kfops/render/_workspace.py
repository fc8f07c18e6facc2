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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfops.errors import ReleaseSourceError, RemoteBaseError

from ._paths import read_json, sha256_text, staging_dir, tree_digest, write_json
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


def prepare_workspace(
    source: ReleaseSource, resolver: RemoteResolver, cache: Path, paths: Sequence[str]
) -> Workspace:
    """The workspace for `source`, made now unless an identical one is cached.

    Every remote base of the release is resolved; one that is neither cached nor
    fetchable only fails the render when one of `paths` (the folders being
    built) reaches it, since releases carry alternatives nobody builds.
    """
    remotes, unavailable = _resolve_all(source.root, source.digest, resolver, cache)
    if unavailable:
        reached = _reachable_remotes(source.root, paths)
        for url, error in unavailable.items():
            if url in reached:
                raise error
    digests = tuple(sorted((ref.url, digest) for ref, _, digest in remotes))
    key = sha256_text(FORMAT, source.digest, *[f"{u}={d}" for u, d in digests],
                      *sorted(unavailable))[:32]
    root = cache / "workspaces" / key
    if not (root / ".complete").exists():
        with staging_dir(root) as staged:
            _populate(staged, source.root, resolver.cache, [(r, p) for r, p, _ in remotes])
            (staged / ".complete").write_text(key)
    return Workspace(root, key, digests)


def _resolve_all(
    root: Path, digest: str, resolver: RemoteResolver, cache: Path
) -> tuple[list[tuple[RemoteRef, Path, str]], dict[str, RemoteBaseError]]:
    """(reference, local copy, content digest) of every remote base under `root` and of the
    remote bases those pull in; and the references that could not be resolved."""
    found: dict[str, tuple[RemoteRef, Path, str]] = {}
    unavailable: dict[str, RemoteBaseError] = {}
    pending = [(root, digest)]
    while pending:
        folder, folder_digest = pending.pop()
        for url in _remote_urls(folder, folder_digest, cache):
            ref = parse_remote(url)
            if ref is None or url in found or url in unavailable:
                continue
            try:
                local = resolver.resolve(ref)
            except RemoteBaseError as error:
                unavailable[url] = error
                continue
            if ref.is_git:
                checkout = ref.checkout_root(resolver.cache)
                checkout_digest = tree_digest(checkout, cache / "trees")
                found[url] = (ref, local, sha256_text(checkout_digest, ref.path))
                pending.append((checkout, checkout_digest))
            else:
                found[url] = (ref, local, sha256_text(local.read_bytes().hex()))
    return sorted(found.values(), key=lambda item: item[0].url), unavailable


def _reachable_remotes(root: Path, paths: Sequence[str]) -> set[str]:
    """Remote references that building `paths` would read, following local bases."""
    seen: set[Path] = set()
    remote: set[str] = set()
    pending = [(root / path).resolve() for path in paths]
    while pending:
        folder = pending.pop()
        if folder in seen:
            continue
        seen.add(folder)
        document = _kustomization(folder)
        for field in _REFERENCE_FIELDS:
            for entry in document.get(field) or []:
                if not isinstance(entry, str):
                    continue
                if parse_remote(entry) is not None:
                    remote.add(entry)
                elif (folder / entry).is_dir():
                    pending.append((folder / entry).resolve())
    return remote


def _kustomization(folder: Path) -> dict[str, Any]:
    for name in _KUSTOMIZATION_NAMES:
        file = folder / name
        if file.is_file():
            document = yaml.load(file.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
            return document if isinstance(document, dict) else {}
    return {}


def _remote_urls(folder: Path, digest: str, cache: Path) -> list[str]:
    """Remote references in the kustomizations of a tree, remembered by the tree's digest."""
    memo = cache / "remote-refs" / f"{FORMAT}-{digest}.json"
    remembered = read_json(memo)
    if isinstance(remembered, list):
        return [str(url) for url in remembered]
    urls = sorted({ref.url for _, ref in _remote_refs(folder)})
    write_json(memo, urls)
    return urls


def _remote_refs(root: Path) -> Iterator[tuple[Path, RemoteRef]]:
    for file in _kustomizations(root):
        text = file.read_text(encoding="utf-8")
        if "://" not in text and "github.com/" not in text:
            continue
        try:
            document = yaml.load(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError as error:
            # adds nothing: its message is here
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
        if ref.url in local_of:  # an unavailable base no built path reaches stays as written
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
    # Path.replace (os.replace) swaps the directory entry; the linked original keeps its content.
    replaced.replace(file)
