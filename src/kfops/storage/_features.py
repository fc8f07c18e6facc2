"""The storage features of a platform."""

from __future__ import annotations

from kfops.render import Contribution

from ._nfs import NfsStorage
from ._object_store import ExternalObjectStore


def storage_features() -> tuple[Contribution, ...]:
    """The NFS provisioner and its default StorageClass (spec.storage.nfs)."""
    return (NfsStorage(),)


def object_store_features() -> tuple[Contribution, ...]:
    """Pipelines' artifacts in an external store (spec.objectStore); after the generated
    credentials, whose object-store keys it replaces."""
    return (ExternalObjectStore(),)
