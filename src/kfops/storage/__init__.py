"""Storage: the NFS provisioner and the default StorageClass; the Pipelines object store."""

from ._features import storage_features
from ._preflight import storage_checks

__all__ = ["storage_checks", "storage_features"]
