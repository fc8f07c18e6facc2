"""`kfops images list`: each image of a bundle, where it goes, and every place it is named."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kfops.render import find_image_uses


@dataclass
class ImageEntry:
    """One image to pull: its source, its place in the private registry, where it is named."""

    source: str
    destination: str | None = None
    """Set when the bundle was rewritten to `airgap.registry`."""
    places: list[str] = field(default_factory=list)
    """`kind namespace/name: field` of each reference."""


def image_inventory(objects: Iterable[dict[str, Any]],
                    sources: dict[str, str] | None = None) -> list[ImageEntry]:
    """The images of `objects` by source; `sources` maps rewritten images back (kfops.lock)."""
    sources = sources or {}
    entries: dict[str, ImageEntry] = {}
    for use in find_image_uses(objects):
        if not use.image:
            continue
        source = sources.get(use.image, use.image)
        entry = entries.setdefault(source, ImageEntry(
            source, use.image if use.image in sources else None))
        place = f"{use.object_id}: {use.where}"
        if place not in entry.places:
            entry.places.append(place)
    return [entries[k] for k in sorted(entries)]
