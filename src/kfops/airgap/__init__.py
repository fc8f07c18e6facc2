"""Air-gapped installs: find every image, rewrite it to a private registry, move it there."""

from ._archive import load_images, save_images, saved_images
from ._features import airgap_features
from ._inventory import ImageEntry, image_inventory
from ._mirror import MirrorResult, mirror_images
from ._names import destination, rewrite_reference
from ._skopeo import Skopeo, SkopeoError

__all__ = [
    "ImageEntry",
    "MirrorResult",
    "Skopeo",
    "SkopeoError",
    "airgap_features",
    "destination",
    "image_inventory",
    "load_images",
    "mirror_images",
    "rewrite_reference",
    "save_images",
    "saved_images",
]
