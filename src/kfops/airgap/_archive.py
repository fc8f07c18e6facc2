"""`kfops images save DIR` and `kfops images load DIR --to REGISTRY`, for networks with no path
between registries.

Images are saved into one OCI image layout (`DIR/oci`): its blobs are stored by
digest, so a layer that several images share is on disk once. `DIR/images.json`
lists each image's source, its name in the layout and its digest; a save that
was interrupted goes on with the images not yet listed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kfops.errors import InputError
from kfops.render import write_atomic

from ._mirror import MirrorResult, in_parallel
from ._names import destination
from ._skopeo import Skopeo, SkopeoError

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
            if entry and skopeo.digest(target) == entry["digest"]:
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


def _read_index(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder} holds no saved images ({INDEX} is missing); "
                         "write one with kfops images save") from None
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {folder / INDEX}: {error}") from None
    try:
        return {str(item["source"]): {"ref": str(item["ref"]), "digest": str(item["digest"])}
                for item in data["images"]}
    except (KeyError, TypeError):
        raise InputError(f"{folder / INDEX} is not a list of saved images (source, ref, "
                         "digest); it was not written by kfops images save") from None


def _write_index(folder: Path, saved: dict[str, dict[str, Any]]) -> None:
    text = json.dumps({"images": [{"source": s, **saved[s]} for s in sorted(saved)]}, indent=2)
    write_atomic(folder / INDEX, (text + "\n").encode())
