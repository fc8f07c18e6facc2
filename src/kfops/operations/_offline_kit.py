"""`kfops bundle create`: the offline machine's kit, from a render of the platform.

The images come from a folder `kfops images save` wrote, or are saved now; the
wheels from a given wheelhouse, or pip builds one now. What is made now lives
in a scratch folder that goes when the kit is written.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kfops.airgap import (
    MirrorResult,
    Packed,
    Skopeo,
    build_wheelhouse,
    create_offline_bundle,
    save_images,
)
from kfops.config import LoadedPlatform
from kfops.render import RenderOptions

from ._render import render_platform


class KitProgress(Protocol):
    """What the kit's assembly reports as it goes."""

    def saving_images(self, total: int) -> None:
        """Saving `total` images starts."""

    def image_saved(self, result: MirrorResult) -> None:
        """One image was saved, skipped or failed."""

    def images_saved(self) -> None:
        """Saving stopped (done, or an error)."""

    def building_wheelhouse(self) -> None:
        """pip starts building the wheelhouse."""


class _Quiet:
    """A KitProgress that reports nothing."""

    def saving_images(self, total: int) -> None:
        del total

    def image_saved(self, result: MirrorResult) -> None:
        del result

    def images_saved(self) -> None:
        pass

    def building_wheelhouse(self) -> None:
        pass


@dataclass(frozen=True)
class OfflineKit:
    """What `create_offline_kit` did."""

    packed: Packed | None
    """The archive written; None when an image could not be saved (nothing was written)."""
    saved: list[MirrorResult] = field(default_factory=list)
    """The images saved for the kit (none when they came from a saved folder)."""


def create_offline_kit(archive: Path, loaded: LoadedPlatform,
                       render_options: RenderOptions | None = None, *,
                       images_from: Path | None = None, wheelhouse: Path | None = None,
                       authfile: Path | None = None,
                       progress: KitProgress | None = None) -> OfflineKit:
    """Render `loaded` and pack the kit into `archive`: the bundle, release, remote bases,
    prerequisites, the images (saved now unless `images_from` holds them) and the wheels
    (built now unless `wheelhouse` holds them)."""
    progress = progress or _Quiet()
    result = render_platform(loaded, render_options)
    with tempfile.TemporaryDirectory(prefix="kfops-kit-") as scratch:
        images = images_from
        saved: list[MirrorResult] = []
        if images is None:
            images = Path(scratch) / "images"
            saved = _save(result.bundle.images, images, Skopeo(authfile=authfile), progress)
            if any(r.outcome == "failed" for r in saved):
                return OfflineKit(None, saved)
        if wheelhouse is None:
            wheelhouse = Path(scratch) / "wheelhouse"
            progress.building_wheelhouse()
            build_wheelhouse(wheelhouse)
        packed = create_offline_bundle(archive, loaded, result, images=images,
                                       wheelhouse=wheelhouse)
    return OfflineKit(packed, saved)


def _save(images: list[str], folder: Path, skopeo: Skopeo,
          progress: KitProgress) -> list[MirrorResult]:
    progress.saving_images(len(images))
    try:
        return save_images(images, folder, skopeo, progress.image_saved)
    finally:
        progress.images_saved()
