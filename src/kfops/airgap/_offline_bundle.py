"""`kfops bundle create OUT.tar` and `kfops bundle verify OUT.tar`: all an offline machine needs.

The archive holds one folder:

    platform.yaml     the platform file, pointed at the folders below
    bundle/           the rendered bundle (as `kfops render` writes it)
    release/          the Kubeflow release manifests
    remote-cache/     the remote kustomize bases the release fetches at build time
    prereqs/          the prerequisites' manifests (MetalLB, NFS provisioner, device plugin,
                      Karpenter's CRDs), as the platform file names them
    images/           the images (`kfops images save`: shared layers stored once)
    wheelhouse/       kfops and its dependencies as wheels (pip install --no-index)
    checksums.sha256  sha256 of every file above (`sha256sum -c` reads it too)
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from kfops.config import LoadedPlatform, edit_platform, is_url
from kfops.errors import BundleArchiveError
from kfops.render import (
    RenderResult,
    SourceFetcher,
    cache_root,
    manifest_files,
    release_inputs,
    write_bundle,
)

from ._archive import INDEX, SavedFolder, missing_images

CHECKSUMS = "checksums.sha256"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Packed:
    """What `create_offline_bundle` wrote."""

    path: Path
    files: int
    size: int


@dataclass
class Verified:
    """What `verify_offline_bundle` found: files checked and every problem."""

    files: int = 0
    problems: list[str] = field(default_factory=list)


def create_offline_bundle(out: Path, loaded: LoadedPlatform, result: RenderResult, *,
                          images: Path, wheelhouse: Path,
                          cache_dir: Path | None = None) -> Packed:
    """Pack the render, its inputs, the saved `images` folder and a `wheelhouse` into `out`."""
    top = f"kfops-offline-{loaded.platform.metadata.name}"
    _check_saved(result.bundle.images, images)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return _create(out, top, loaded, result, images=images, wheelhouse=wheelhouse,
                       cache_dir=cache_dir)
    except OSError as error:
        raise BundleArchiveError(f"cannot write {out}: {error}") from error


def _check_saved(images: list[str], folder: Path) -> None:
    """Every image of the platform in the saved folder, by digest; else nothing is written."""
    if not (folder / INDEX).is_file():
        raise BundleArchiveError(f"{folder} is not a saved-images folder (no {INDEX}); write "
                                 "one with kfops images save")
    missing = missing_images(images, SavedFolder(folder))
    if missing:
        raise BundleArchiveError(
            f"{folder} lacks {len(missing)} of the {len(images)} images the platform needs "
            "(images.txt), so no kit was written; `kfops images save "
            f"{folder} -f PLATFORM` saves what is missing:\n  " + "\n  ".join(missing))


def _create(out: Path, top: str, loaded: LoadedPlatform, result: RenderResult, *,
            images: Path, wheelhouse: Path, cache_dir: Path | None) -> Packed:
    with tempfile.TemporaryDirectory(prefix=".kfops-bundle-", dir=out.parent) as scratch:
        root = Path(scratch) / top
        root.mkdir()
        write_bundle(result.bundle, root / "bundle")
        inputs = release_inputs(loaded, cache_dir)
        shutil.copytree(inputs.root, root / "release", ignore=shutil.ignore_patterns(".git"))
        if inputs.remote_cache.is_dir():
            shutil.copytree(inputs.remote_cache, root / "remote-cache")
        moved = _pack_sources(loaded, result, root, cache_dir)
        moved.update(_pack_customizations(loaded, root, cache_dir))
        _copy_folder(images, root / "images", f"{images} is not a saved-images folder "
                     f"(no {INDEX}); write one with kfops images save", INDEX)
        _copy_folder(wheelhouse, root / "wheelhouse", f"{wheelhouse} holds no kfops wheel",
                     "kfops-*.whl")
        _offline_platform(loaded, root, moved, inputs.remote_cache.is_dir())
        digests = _write_checksums(root)
        corrupt = _blob_mismatches(digests)
        if corrupt:
            raise BundleArchiveError(f"{images} holds damaged images, so no kit was written "
                                     "(save them again):\n  " + "\n  ".join(corrupt))
        _write_tar(root, top, out)
    return Packed(out, len(digests), out.stat().st_size)


def _write_tar(root: Path, top: str, out: Path) -> None:
    """`root` as `top/` in the tar `out`, readable by its owner only from the first byte (the
    rendered bundle holds Secrets); a failed write leaves nothing behind."""
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)  # a leftover (or a link planted there) is not reused
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(descriptor, 0o600)  # whatever the umask
    try:
        with os.fdopen(descriptor, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as tar:
            tar.add(root, arcname=top)
        partial.replace(out)
    except BaseException:  # any exit (Ctrl-C too) leaves no partial archive; re-raised
        partial.unlink(missing_ok=True)
        raise


def verify_offline_bundle(path: Path) -> Verified:
    """Check every file of the archive against its checksums file."""
    report = Verified()
    try:
        with tarfile.open(path) as tar:
            members = {m.name.split("/", 1)[1]: m for m in tar.getmembers()
                       if m.isfile() and "/" in m.name}
            listed = dict(members)
            report.problems += _odd_members(tar.getmembers())
            listing = members.pop(CHECKSUMS, None)
            if listing is None:
                report.problems.append(f"no {CHECKSUMS} in {path}")
                return report
            expected = _parse_checksums(_read(tar, listing).decode(errors="replace"))
            for name, digest in sorted(expected.items()):
                member = members.pop(name, None)
                if member is None:
                    report.problems.append(f"missing: {name}")
                    continue
                report.files += 1
                if _digest(tar, member) != digest:
                    report.problems.append(f"changed: {name}")
            report.problems += [f"not in {CHECKSUMS}: {name}" for name in sorted(members)]
            report.problems += _blob_mismatches(expected)
            report.problems += _kit_images(tar, listed)
    except (tarfile.TarError, OSError) as error:
        raise BundleArchiveError(f"cannot read {path}: {error}") from error
    for part in ("bundle/kfops.lock", "platform.yaml", f"images/{INDEX}"):
        if part not in expected:
            report.problems.append(f"incomplete: no {part}")
    if not any(n.startswith("wheelhouse/kfops-") for n in expected):
        report.problems.append("incomplete: no kfops wheel in wheelhouse/")
    return report


def _kit_images(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo]) -> list[str]:
    """The images of the kit's images.txt that its images/ folder does not hold whole."""
    listing = members.get("bundle/images.txt")
    if listing is None or "images/" + INDEX not in members:
        return []  # reported as incomplete below
    images = _read(tar, listing).decode(errors="replace").split()
    return [f"image {problem}" for problem in missing_images(images, _KitImages(tar, members))]


class _KitImages:
    """The kit's images/ folder, read from the tar."""

    def __init__(self, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo]) -> None:
        self._tar, self._members = tar, members

    def read(self, name: str) -> bytes | None:
        """The content of images/`name`, or None."""
        member = self._members.get(f"images/{name}")
        return None if member is None else _read(self._tar, member)

    def size(self, name: str) -> int | None:
        """The size of images/`name`, or None."""
        member = self._members.get(f"images/{name}")
        return None if member is None else member.size


def _odd_members(members: list[tarfile.TarInfo]) -> list[str]:
    """Members a kit never has: links or devices, or anything outside its one top folder."""
    tops = sorted({m.name.split("/", 1)[0] for m in members})
    problems = []
    if len(tops) != 1 or not tops[0].startswith("kfops-offline-"):
        problems.append(f"not one kfops-offline-* folder at the top: {', '.join(tops)}")
    problems += [f"not a file or folder: {m.name}" for m in members
                 if not (m.isfile() or m.isdir())]
    return problems


#: Platform fields naming prerequisite manifests: (folder in prereqs/, path, is a folder).
_SOURCE_FIELDS = (
    ("metallb", ("metallb", "source"), False),
    ("nfs-provisioner", ("storage", "nfs", "source"), True),
    ("nvidia-device-plugin", ("gpu", "source"), False),
    ("karpenter-crds", ("karpenter", "crds"), True),
)


def _pack_sources(loaded: LoadedPlatform, result: RenderResult, root: Path,
                  cache_dir: Path | None) -> dict[tuple[str | int, ...], str]:
    """Copy every source the render read into prereqs/; field path -> its new value."""
    read = set(result.bundle.lock.get("sources") or {})
    fetcher = SourceFetcher(loaded, cache_dir or cache_root(), offline=True)
    raw = loaded.platform.spec.model_dump(by_alias=True)
    moved: dict[tuple[str | int, ...], str] = {}
    for folder, path, is_folder in _SOURCE_FIELDS:
        value = _get(raw, path)
        if not isinstance(value, str):
            continue
        used = sorted(s for s in read if (s.startswith(value.rstrip("/") + "/") if is_folder
                                           else s == value))
        if not used:
            continue
        for source in used:
            target = root / "prereqs" / folder / _file_name(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fetcher.read(source), encoding="utf-8")
        moved[path] = f"prereqs/{folder}" + ("" if is_folder else "/" + used[0].rsplit("/", 1)[-1])
    return moved


def _pack_customizations(loaded: LoadedPlatform, root: Path,
                         cache_dir: Path | None) -> dict[tuple[str | int, ...], str]:
    """Copy the extra manifests and patch files into the kit; field path -> its new value.

    Paths in the platform file are relative to it, and the kit's platform file sits at
    the kit's top: each entry gets a folder of its own (extra-manifests/<index>/,
    patches/<index>/), URLs included, so the offline machine reads nothing else.
    """
    fetcher = SourceFetcher(loaded, cache_dir or cache_root(), offline=True)
    spec = loaded.platform.spec
    moved: dict[tuple[str | int, ...], str] = {}
    for index, entry in enumerate(spec.extra_manifests):
        folder = f"extra-manifests/{index}"
        files = manifest_files(loaded, index, entry)
        whole = is_url(entry) or not loaded.resolve_path(entry).is_dir()
        for source in files:
            name = _file_name(source) if whole else Path(source).relative_to(entry).as_posix()
            target = root / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fetcher.read(source), encoding="utf-8")
        moved[("extraManifests", index)] = f"{folder}/{_file_name(files[0])}" if whole \
            else folder
    for index, patch in enumerate(spec.patches):
        if patch.path is not None:
            target = root / "patches" / str(index) / _file_name(patch.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fetcher.read(patch.path), encoding="utf-8")
            moved[("patches", index, "path")] = target.relative_to(root).as_posix()
    return moved


def _file_name(source: str) -> str:
    """The last part of `source` as a file name of the kit: plain, so checksums.sha256 (one
    file per line) and the instructions of docs/airgapped.md can name it safely."""
    name = source.rstrip("/").rsplit("/", 1)[-1]
    if name in (".", "..") or not re.fullmatch(r"[A-Za-z0-9._-]{1,255}", name):
        raise BundleArchiveError(f"{source}: the file name {name!r} is not a plain file name "
                                 "(letters, digits, '.', '_', '-'); rename the file")
    return name


def _offline_platform(loaded: LoadedPlatform, root: Path,
                      moved: dict[tuple[str | int, ...], str],
                      remote: bool) -> None:
    """The platform file, its sources pointed at the packed folders."""
    target = root / "platform.yaml"
    shutil.copyfile(loaded.path, target)

    def change(tree: CommentedMap) -> None:
        spec = tree["spec"]
        release = spec.setdefault("release", CommentedMap())
        release["source"] = "release"
        if remote:
            release["remoteCache"] = "remote-cache"
        for path, value in moved.items():
            node = spec
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value

    edit_platform(target, change).ready()


def _copy_folder(source: Path, target: Path, problem: str, marker: str) -> None:
    if not source.is_dir() or not any(source.glob(marker)):
        raise BundleArchiveError(problem)
    shutil.copytree(source, target)


def _write_checksums(root: Path) -> dict[str, str]:
    """Write checksums.sha256; the digest of every file by its path in the kit."""
    digests = {p.relative_to(root).as_posix(): _file_digest(p)
               for p in sorted(root.rglob("*")) if p.is_file()}
    (root / CHECKSUMS).write_text("".join(f"{digest}  {name}\n" for name, digest in
                                          digests.items()), encoding="utf-8")
    return digests


_BLOBS = "images/oci/blobs/sha256/"


def _blob_mismatches(digests: dict[str, str]) -> list[str]:
    """Saved blobs whose content is not what their name (its sha256) says."""
    return [f"{name}: its content does not match its digest" for name, digest in
            sorted(digests.items()) if name.startswith(_BLOBS)
            and digest != name.removeprefix(_BLOBS)]


def _parse_checksums(text: str) -> dict[str, str]:
    entries = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if digest and name:
            entries[name] = digest
    return entries


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _digest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(tar, member):
        digest.update(chunk)
    return digest.hexdigest()


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    return b"".join(_chunks(tar, member))


def _chunks(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    handle = tar.extractfile(member)
    if handle is None:
        return
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _get(tree: object, path: tuple[str, ...]) -> object:
    for key in path:
        tree = tree.get(key) if isinstance(tree, dict) else None
    return tree
