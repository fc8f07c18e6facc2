"""The air-gap features of a platform (the last to shape the bundle: they see every image)."""

from __future__ import annotations

from kfops.render import Contribution

from ._rewrite import RewriteImages


def airgap_features() -> tuple[Contribution, ...]:
    """The rewrite of every image to `airgap.registry`."""
    return (RewriteImages(),)
