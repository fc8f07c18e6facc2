"""The administrator's own additions to the render: extra manifests, then patches."""

from __future__ import annotations

from ._contributions import Contribution
from ._extra_manifests import ExtraManifests
from ._patches import UserPatches


def customization_features() -> tuple[Contribution, ...]:
    """`spec.extraManifests`, then `spec.patches` (so a patch may change an extra object).

    They run after kfops's own shaping features and before the images are listed and
    moved, so an image a patch or an extra object names is mirrored like the rest.
    """
    return (ExtraManifests(), UserPatches())
