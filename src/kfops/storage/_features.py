"""The storage features of a platform."""

from __future__ import annotations

from kfops.render import Contribution

from ._azure_blob import AzureBlobStore
from ._nfs import NfsStorage


def storage_features() -> tuple[Contribution, ...]:
    """The NFS provisioner and its default StorageClass (spec.storage.nfs); an Azure Blob
    container behind the release's SeaweedFS (spec.objectStore.type azureBlob)."""
    return (NfsStorage(), AzureBlobStore())
