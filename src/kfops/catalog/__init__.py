"""Per-release facts: components, their kustomize paths, dependencies and owned objects."""

from ._lookup import catalog_for, known_versions
from ._model import Component, Ownership, ReleaseCatalog
from ._prereqs import (
    DEFAULT_CLASS_ANNOTATION,
    METALLB_NAMESPACE,
    NFS_FILES,
    NFS_IMAGE,
    NFS_NAMESPACE,
    NFS_STORAGE_CLASS,
)
from ._select import SelectedComponent, select_components
from ._settings import DEFAULT_SETTINGS, Credential, ObjectRef, Settings

__all__ = [
    "DEFAULT_CLASS_ANNOTATION",
    "DEFAULT_SETTINGS",
    "METALLB_NAMESPACE",
    "NFS_FILES",
    "NFS_IMAGE",
    "NFS_NAMESPACE",
    "NFS_STORAGE_CLASS",
    "Component",
    "Credential",
    "ObjectRef",
    "Ownership",
    "ReleaseCatalog",
    "SelectedComponent",
    "Settings",
    "catalog_for",
    "known_versions",
    "select_components",
]
