"""`kfops images save DIR` and `kfops images load DIR --to REGISTRY`, for networks with no path
between registries.

Images are saved into one OCI image layout (`DIR/oci`): its blobs are stored by
digest, so a layer that several images share is on disk once. `DIR/images.json`
lists each image's source, its name in the layout and its digest; a save that
was interrupted goes on with the images not yet listed, or not held whole (a
blob lost or cut short is copied again). `missing_images` checks a folder (or
the kit's copy of it) against the images a platform needs, by digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from kfops.errors import InputError, SkopeoError
from kfops.render import write_atomic

from ._mirror import MirrorResult, in_parallel
from ._names import destination
from ._skopeo import Skopeo

INDEX = "images.json"
LAYOUT = "oci"


def save_images(images: Sequence[str], folder: Path, skopeo: Skopeo,
                on_done: Callable[[MirrorResult], None] = lambda _: None) -> list[MirrorResult]:
    """Copy `images` into `folder`'s OCI layout, one after another (it has one index.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = _read_index(folder) if (folder / INDEX).exists() else {}
    results = []
    for source in images:
        entry = saved.get(source)
        ref = entry["ref"] if entry else f"image-{len(saved) + 1:04d}"
        target = f"oci:{folder / LAYOUT}:{ref}"
        try:
            # Skipped only when the layout holds it whole: a lost blob is saved again.
            if entry and not missing_images([source], SavedFolder(folder)):
                result = MirrorResult(source, ref, "skipped", "already saved", entry["digest"])
            else:
                digest = skopeo.digest(f"docker://{source}")
                if digest is None:
                    result = MirrorResult(source, ref, "failed", "not found at the source")
                else:
                    skopeo.copy(f"docker://{source}", target)
                    saved[source] = {"ref": ref, "digest": digest}
                    _write_index(folder, saved)
                    result = MirrorResult(source, ref, "copied", "", digest)
        except SkopeoError as error:
            result = MirrorResult(source, ref, "failed", str(error))
        on_done(result)
        results.append(result)
    return results


def load_images(folder: Path, registry: str, skopeo: Skopeo, *, keep_source_host: bool = False,
                parallel: int = 4,
                on_done: Callable[[MirrorResult], None] = lambda _: None) -> list[MirrorResult]:
    """Push every saved image to `registry`, skipping those whose digest is there already."""
    saved = _read_index(folder)

    def one(source: str) -> MirrorResult:
        entry = saved[source]
        target = destination(source, registry, keep_source_host)
        try:
            if skopeo.digest(f"docker://{target}", destination=True) == entry["digest"]:
                result = MirrorResult(source, target, "skipped", "already there", entry["digest"])
            else:
                skopeo.copy(f"oci:{folder / LAYOUT}:{entry['ref']}", f"docker://{target}")
                result = MirrorResult(source, target, "copied", "", entry["digest"])
        except SkopeoError as error:
            result = MirrorResult(source, target, "failed", str(error))
        on_done(result)
        return result

    return in_parallel(one, sorted(saved), parallel)


def saved_images(folder: Path) -> list[str]:
    """The sources saved in `folder`."""
    return sorted(_read_index(folder))


class SavedFiles(Protocol):
    """The files of a saved-images folder, wherever they are (a folder, or inside a kit)."""

    def read(self, name: str) -> bytes | None:
        """The content of `name` (relative to the folder, e.g. `oci/index.json`), or None."""

    def size(self, name: str) -> int | None:
        """The size of `name` in bytes, or None when it is absent."""


class SavedFolder:
    """A saved-images folder on disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self, name: str) -> bytes | None:
        """The content of `name`, or None when it is absent."""
        path = self.folder / name
        return path.read_bytes() if path.is_file() else None

    def size(self, name: str) -> int | None:
        """The size of `name`, or None when it is absent."""
        path = self.folder / name
        return path.stat().st_size if path.is_file() else None


def missing_images(images: Sequence[str], saved: SavedFiles) -> list[str]:
    """Each of `images` that the saved folder does not hold whole, with why.

    An image is held when images.json lists it, the layout's index.json names
    its ref with the digest images.json recorded, and every blob that digest
    leads to (the manifests of an index, their configs and layers) is there
    with the size its descriptor gives. Blob contents are compared with their
    digests where every file is read anyway (the kit's checksums).
    """
    try:
        listed = _parse_index(saved.read(INDEX), INDEX)
    except InputError as error:
        return [str(error)]
    refs = _layout_refs(saved)
    problems = []
    for image in images:
        entry = listed.get(image)
        if entry is None:
            problems.append(f"{image}: not saved (not in {INDEX})")
        elif refs.get(entry["ref"]) != entry["digest"]:
            found = refs.get(entry["ref"])
            problems.append(f"{image}: {INDEX} has it as {entry['ref']} {entry['digest']}, the "
                            f"layout's index.json " + (f"as {found}" if found else "lacks it"))
        else:
            problems += [f"{image}: {why}" for why in _blob_problems(saved, entry["digest"])]
    return problems


def _layout_refs(saved: SavedFiles) -> dict[str, str]:
    """Ref name -> manifest digest, from the layout's index.json."""
    try:
        index = json.loads(saved.read(f"{LAYOUT}/index.json") or b"{}")
        return {str(m["annotations"]["org.opencontainers.image.ref.name"]): str(m["digest"])
                for m in index.get("manifests") or []
                if "org.opencontainers.image.ref.name" in (m.get("annotations") or {})}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


#: Media types of blobs that name other blobs (an image's manifest, a multi-arch index).
_MANIFESTS = ("application/vnd.oci.image.manifest.v1+json",
              "application/vnd.oci.image.index.v1+json",
              "application/vnd.docker.distribution.manifest.v2+json",
              "application/vnd.docker.distribution.manifest.list.v2+json")


def _blob_problems(saved: SavedFiles, digest: str, size: int | None = None,
                   manifest: bool = True) -> list[str]:
    """What is missing of blob `digest` and, for a manifest or an index, of what it names."""
    name = f"{LAYOUT}/blobs/" + digest.replace(":", "/", 1)
    have = saved.size(name)
    if have is None:
        return [f"blob {digest} is missing"]
    if size is not None and have != size:
        return [f"blob {digest} has {have} bytes, {size} expected"]
    if not manifest:
        return []
    try:
        content = json.loads(saved.read(name) or b"")
        children = [*(content.get("manifests") or []), *filter(None, [content.get("config")]),
                    *(content.get("layers") or [])]
        return [problem for child in children for problem in _blob_problems(
            saved, str(child["digest"]), int(child["size"]), child.get("mediaType") in _MANIFESTS)]
    except (ValueError, KeyError, TypeError, AttributeError):
        return [f"blob {digest} is not a manifest"]


def _read_index(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        text = (folder / INDEX).read_bytes()
    except FileNotFoundError as error:
        raise InputError(f"{folder} holds no saved images ({INDEX} is missing); "
                         "write one with kfops images save") from error
    except OSError as error:
        raise InputError(f"cannot read {folder / INDEX}: {error}") from error
    return _parse_index(text, str(folder / INDEX))


def _parse_index(text: bytes | None, where: str) -> dict[str, dict[str, Any]]:
    """images.json's entries by source; InputError naming `where` when it is not one."""
    if text is None:
        raise InputError(f"no {where}: the folder was not written by kfops images save")
    try:
        data = json.loads(text)
        return {str(item["source"]): {"ref": str(item["ref"]), "digest": str(item["digest"])}
                for item in data["images"]}
    except (ValueError, KeyError, TypeError):
        # adds nothing: what is wrong is here
        raise InputError(f"{where} is not a list of saved images (source, ref, digest); it "
                         "was not written by kfops images save") from None


def _write_index(folder: Path, saved: dict[str, dict[str, Any]]) -> None:
    text = json.dumps({"images": [{"source": s, **saved[s]} for s in sorted(saved)]}, indent=2)
    write_atomic(folder / INDEX, (text + "\n").encode())
