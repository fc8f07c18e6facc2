"""Which components a platform installs: the file's choices, the release defaults, needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kfops.errors import ComponentSelectionError

from ._model import Component, ReleaseCatalog


@dataclass(frozen=True)
class SelectedComponent:
    """A component that will be installed, with the paths to build and why it is in."""

    component: Component
    paths: tuple[str, ...]
    reason: str
    """core | chosen | release default | needed by <component>."""

    @property
    def name(self) -> str:
        """The component's name."""
        return self.component.name


def select_components(
    catalog: ReleaseCatalog, chosen: Mapping[str, bool], variants: Mapping[str, str]
) -> tuple[SelectedComponent, ...]:
    """The installed components in catalog order; refuse choices that cannot work.

    `chosen` maps `spec.components` keys the file sets to true/false; `variants`
    maps a component to its chosen path variant (pipelines definitions).
    """
    names = {c.name for c in catalog.components if c.kind == "optional"}
    problems = [(key, f"release {catalog.version} has no {key} component")
                for key in chosen if key not in names]
    reasons: dict[str, str] = {}
    for component in catalog.components:
        if component.kind == "core":
            reasons[component.name] = "core"
        elif component.kind == "optional" and chosen.get(component.name, component.default):
            reasons[component.name] = (
                "chosen" if component.name in chosen else "release default")
    problems += _add_needs(catalog, chosen, reasons)
    if problems:
        raise ComponentSelectionError(problems)
    return tuple(
        SelectedComponent(c, c.paths_for(variants.get(c.name)), reasons[c.name])
        for c in catalog.components if c.name in reasons
    )


def _add_needs(
    catalog: ReleaseCatalog, chosen: Mapping[str, bool], reasons: dict[str, str]
) -> list[tuple[str, str]]:
    """Pull in what installed components need; refuse needs the file switched off."""
    problems: list[tuple[str, str]] = []
    pending = list(reasons)
    while pending:
        component = catalog.component(pending.pop(0))
        for needed, why in component.requires:
            if needed in reasons:
                continue
            if chosen.get(needed) is False:
                problems.append((needed, (
                    f"cannot be off while {component.name} is on: {why}. "
                    f"Switch {component.name} off too, or leave {needed} on"
                )))
                continue
            reasons[needed] = f"needed by {component.name}"
            pending.append(needed)
    return problems
