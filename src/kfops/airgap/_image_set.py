"""The images an `images` command moves, with the platform's air-gap settings.

They come from one of three places: a list of images (a bundle's images.txt or
one of the user's), a written bundle, or a fresh render. A bundle's lock records
what the render did with `spec.airgap`: under `airgap` its keepSourceHost and
insecure settings, under `imageSources` each rewritten image's source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfops.config import Airgap
from kfops.errors import InputError
from kfops.objects import normalise_image

from ._archive import load_images, save_images
from ._inventory import ImageEntry, image_inventory
from ._mirror import MirrorResult, mirror_images
from ._rewrite import LOCK_IMAGE_SOURCES, LOCK_SETTINGS
from ._skopeo import Skopeo

OnDone = Callable[[MirrorResult], None]


@dataclass(frozen=True)
class ImageSet:
    """The images to move, and the platform's air-gap settings (from its file or its lock)."""

    images: list[str]
    """Normalised image references, sorted."""
    objects: list[dict[str, Any]] = field(default_factory=list)
    """The objects naming them (none for a list of images)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Rewritten image -> its source (the lock's imageSources)."""
    keep_source_host: bool = False
    insecure: bool = False

    @classmethod
    def from_lock(cls, objects: list[dict[str, Any]], images: list[str],
                  lock: Mapping[str, Any]) -> ImageSet:
        """The images of a rendered bundle, with the settings its lock records."""
        settings = lock.get(LOCK_SETTINGS) or {}
        return cls(images, objects, dict(lock.get(LOCK_IMAGE_SOURCES) or {}),
                   bool(settings.get("keepSourceHost")), bool(settings.get("insecure")))

    @classmethod
    def listed(cls, images: list[str], airgap: Airgap | None) -> ImageSet:
        """A list of images; `airgap` (the platform file's, if any) gives the settings."""
        return cls(images, keep_source_host=bool(airgap and airgap.keep_source_host),
                   insecure=bool(airgap and airgap.insecure))

    def inventory(self) -> list[ImageEntry]:
        """Each image by source, with where it goes and every place it is named."""
        return image_inventory(self.objects, self.sources)

    def mirror(self, registry: str, *, authfile: Path | None = None, parallel: int = 4,
               on_done: OnDone = lambda _: None) -> list[MirrorResult]:
        """Copy the images into `registry` (airgap.insecure applies to it)."""
        skopeo = Skopeo(authfile=authfile, insecure_destination=self.insecure)
        return mirror_images(self.images, registry, skopeo,
                             keep_source_host=self.keep_source_host, parallel=parallel,
                             on_done=on_done)

    def save(self, folder: Path, *, authfile: Path | None = None,
             on_done: OnDone = lambda _: None) -> list[MirrorResult]:
        """Write the images into `folder`'s OCI layout."""
        return save_images(self.images, folder, Skopeo(authfile=authfile), on_done)


def load_saved_images(folder: Path, registry: str, airgap: Airgap | None, *,
                      authfile: Path | None = None, parallel: int = 4,
                      on_done: OnDone = lambda _: None) -> list[MirrorResult]:
    """Push the images saved in `folder` into `registry`, with `airgap`'s keepSourceHost
    and insecure settings (none: the defaults)."""
    skopeo = Skopeo(authfile=authfile, insecure_destination=bool(airgap and airgap.insecure))
    return load_images(folder, registry, skopeo,
                       keep_source_host=bool(airgap and airgap.keep_source_host),
                       parallel=parallel, on_done=on_done)


def read_image_list(path: Path) -> list[str]:
    """The images a file lists, one per line (`#` starts a comment), normalised and sorted."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
    names = (line.split("#", 1)[0].strip() for line in lines)
    return sorted({normalise_image(name) for name in names if name})

