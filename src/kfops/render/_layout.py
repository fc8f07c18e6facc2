"""Where each object goes in the bundle: stage folders, one file per component, kind order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from kfops.objects import file_name, kind_rank, stage_of

from ._objects import BundleObject


def lay_out(
    items: Sequence[BundleObject], component_order: Sequence[str],
    prereq_components: frozenset[str] = frozenset(),
) -> dict[str, list[BundleObject]]:
    """Bundle-relative file path -> its objects, files in stage then component order."""
    order = {name: index for index, name in enumerate(component_order)}
    files: dict[str, list[BundleObject]] = defaultdict(list)
    for item in items:
        stage = stage_of(item.kind, item.component, prereq_components)
        files[f"{stage}/{file_name(item.component)}"].append(item)
    for objects in files.values():
        # Stable: objects of one kind keep kustomize's order.
        objects.sort(key=lambda o: kind_rank(o.kind))
    return dict(sorted(
        files.items(),
        key=lambda entry: (entry[0].split("/")[0], order.get(entry[1][0].component, len(order))),
    ))
