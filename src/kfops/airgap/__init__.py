"""Air-gapped installs: find every image, rewrite it to a private registry, move it there."""

from ._archive import load_images, save_images, saved_images
from ._features import airgap_features
from ._image_set import ImageSet, load_saved_images, read_image_list
from ._inventory import ImageEntry, image_inventory
from ._mirror import MirrorResult, mirror_images
from ._names import rewrite_reference
from ._offline_bundle import (
    Packed,
    Verified,
    create_offline_bundle,
    verify_offline_bundle,
)
from ._skopeo import Skopeo
from ._wheelhouse import build_wheelhouse

__all__ = [
    "ImageEntry",
    "ImageSet",
    "MirrorResult",
    "Packed",
    "Skopeo",
    "Verified",
    "airgap_features",
    "build_wheelhouse",
    "create_offline_bundle",
    "image_inventory",
    "load_images",
    "load_saved_images",
    "mirror_images",
    "read_image_list",
    "rewrite_reference",
    "save_images",
    "saved_images",
    "verify_offline_bundle",
]
