"""What an apply needs that Helm installs, not kfops: the GPU operator's CRD, Karpenter's.

The render records them in the bundle's lock (`requires`: crd, why, fix); an
apply stops before any change while the cluster lacks one, naming the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfops.render import EditableBundle, Phase, RenderContext

from ._karpenter import karpenter_crds
from ._operator import operator_crds

#: The lock key of the CRDs an apply needs first.
REQUIRES = "requires"


class HelmCrds:
    """Record the CRDs others install (Helm) that the bundle's objects need."""

    name = "helmCrds"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """The operator's CRD, then Karpenter's, when the platform needs them."""
        spec = context.loaded.platform.spec
        needed = [*operator_crds(spec.gpu), *karpenter_crds(spec.karpenter)]
        if needed:
            bundle.record(REQUIRES, needed)


def crd_requirements(lock: Mapping[str, Any]) -> list[dict[str, str]]:
    """The CRDs an apply of the bundle with `lock` needs first: crd, why, fix."""
    return list(lock.get(REQUIRES) or [])
