"""`spec.airgap`: pull every image from a private registry."""

from __future__ import annotations

from pydantic import Field

from ._types import Registry, Strict


class Airgap(Strict):
    """Rewrite every image to a private registry."""

    registry: Registry
    """Registry host[:port][/path] every image is rewritten to."""
    keep_source_host: bool = Field(False, alias="keepSourceHost")
    """true: ghcr.io/kubeflow/x:1 -> REGISTRY/ghcr.io/kubeflow/x:1; false: REGISTRY/kubeflow/x:1."""
    insecure: bool = False
    """The registry speaks plain HTTP or has an untrusted certificate."""
