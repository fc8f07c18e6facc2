"""Per-release facts: components, their kustomize paths, dependencies and owned objects."""

from ._lookup import catalog_for, known_versions
from ._model import Component, Ownership, ReleaseCatalog
from ._select import SelectedComponent, select_components

__all__ = [
    "Component",
    "Ownership",
    "ReleaseCatalog",
    "SelectedComponent",
    "catalog_for",
    "known_versions",
    "select_components",
]
