"""Air-gapped installs: find every image, rewrite it to a private registry, move it there."""

from ._archive import load_images, save_images, saved_images
from ._features import airgap_features
from ._inventory import ImageEntry, image_inventory
from ._mirror import MirrorResult, mirror_images
from ._names import destination, rewrite_reference
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
    "MirrorResult",
    "Packed",
    "Skopeo",
    "Verified",
    "airgap_features",
    "build_wheelhouse",
    "create_offline_bundle",
    "destination",
    "image_inventory",
    "load_images",
    "mirror_images",
    "rewrite_reference",
    "save_images",
    "saved_images",
    "verify_offline_bundle",
]
