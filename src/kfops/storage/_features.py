"""The storage features of a platform."""

from __future__ import annotations

from kfops.render import Contribution

from ._azure_blob import AzureBlobStore
from ._nfs import NfsStorage
from ._object_store import ExternalObjectStore


def storage_features() -> tuple[Contribution, ...]:
    """The NFS provisioner and its default StorageClass (spec.storage.nfs)."""
    return (NfsStorage(),)


def object_store_features() -> tuple[Contribution, ...]:
    """Pipelines' artifacts in an external store (spec.objectStore: s3, or an Azure Blob
    container behind the release's SeaweedFS); after the generated credentials, whose
    object-store keys s3 replaces."""
    return (ExternalObjectStore(), AzureBlobStore())
