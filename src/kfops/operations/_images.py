"""The images of `kfops images`: from a list, a written bundle, or a render of the platform."""

from __future__ import annotations

from pathlib import Path

from kfops.airgap import ImageSet, read_image_list
from kfops.config import Airgap, load_platform
from kfops.render import IMAGES, RenderOptions, read_bundle_objects

from ._render import render_platform


def platform_airgap(file: Path) -> Airgap | None:
    """`spec.airgap` of the platform file `file`; None when it sets none or does not exist
    (a command moving saved or listed images needs no platform file)."""
    if not file.exists():
        return None
    return load_platform(file, check_references=False).platform.spec.airgap


def platform_images(file: Path, *, bundle: Path | None = None, images: Path | None = None,
                    render_options: RenderOptions | None = None,
                    allow_outside: bool = False) -> ImageSet:
    """The images to move: those `images` lists, else those of the written `bundle`, else
    those of a render of the platform file `file`; with the platform's air-gap settings."""
    if images is not None:
        # The list names the images; a platform file next to it only gives airgap settings.
        airgap = platform_airgap(file)
        return ImageSet.listed(read_image_list(images), airgap)
    if bundle is not None:
        objects, _, lock = read_bundle_objects(bundle)
        return ImageSet.from_lock(objects, read_image_list(bundle / IMAGES), lock)
    result = render_platform(load_platform(file, allow_outside=allow_outside), render_options)
    return ImageSet.from_lock([o.obj for o in result.bundle.objects],
                              list(result.bundle.images), result.bundle.lock)
