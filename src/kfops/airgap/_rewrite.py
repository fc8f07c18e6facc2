"""`spec.airgap`: every image reference of the bundle rewritten to the private registry.

References are rewritten where they were found (pod templates, environment
variables, arguments, custom resources, text inside ConfigMaps, Istio's hub),
tags and digests kept. Afterwards nothing may still name a public registry:
the render stops and lists what it could not rewrite.
"""

from __future__ import annotations

from typing import Any

from kfops.config import Airgap
from kfops.errors import RenderError
from kfops.objects import describe, replace_reference
from kfops.render import (
    EditableBundle,
    ImageUse,
    Phase,
    RenderContext,
    find_image_uses,
    public_references,
)

from ._names import destination, rewrite_hub, rewrite_reference

COMPONENT = "airgap"
#: The lock's record of spec.airgap (registry, keepSourceHost, insecure), for `kfops images`.
LOCK_SETTINGS = "airgap"
#: The lock's map of each rewritten image to the image it was, for `kfops images`.
LOCK_IMAGE_SOURCES = "imageSources"


class RewriteImages:
    """Point every image at `airgap.registry`; fail on any public reference left."""

    name = COMPONENT
    phase = Phase.IMAGES

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Rewrite in place, record the settings and sources in the lock, then check what is
        left."""
        airgap = context.loaded.platform.spec.airgap
        if airgap is None:
            return
        bundle.record(LOCK_SETTINGS, {"registry": airgap.registry,
                                      "keepSourceHost": airgap.keep_source_host,
                                      "insecure": airgap.insecure})
        found = [(item, find_image_uses([item.obj])) for item in bundle.items]
        _check_collisions([use for _, uses in found for use in uses], airgap)
        sources: dict[str, str] = {}
        for item, uses in found:
            if not uses:
                continue
            obj = bundle.edit(item)
            for use in uses:
                _rewrite(obj, use, airgap)
                if use.image:
                    sources[destination(
                        use.image, airgap.registry, airgap.keep_source_host)] = use.image
        if sources:
            bundle.record(LOCK_IMAGE_SOURCES, dict(sorted(sources.items())))
        left = [f"{describe(item.obj)}: {where}: {ref}" for item in bundle.items
                for where, ref in public_references(item.obj, airgap.registry)]
        if left:
            raise RenderError("spec.airgap: these references still name a public registry "
                              "after the rewrite:\n  " + "\n  ".join(sorted(set(left))))


def _rewrite(obj: dict[str, Any], use: ImageUse, airgap: Airgap) -> None:
    if use.hub:
        new = rewrite_hub(use.raw, airgap.registry, airgap.keep_source_host)
    else:
        new = rewrite_reference(use.raw, airgap.registry, airgap.keep_source_host)
    parent: Any = obj
    for key in use.path[:-1]:
        parent = parent[key]
    text = parent[use.path[-1]]
    if text == use.raw:
        parent[use.path[-1]] = new
        return
    # Inside text (a ConfigMap's JSON or YAML): the reference as a whole word only.
    parent[use.path[-1]] = replace_reference(text, use.raw, new)


def _check_collisions(uses: list[ImageUse], airgap: Airgap) -> None:
    seen: dict[str, str] = {}
    for use in uses:
        if not use.image:
            continue
        target = destination(use.image, airgap.registry, airgap.keep_source_host)
        other = seen.setdefault(target, use.image)
        if other != use.image:
            raise RenderError(f"spec.airgap: {other} and {use.image} would both become "
                              f"{target}; set spec.airgap.keepSourceHost: true")
