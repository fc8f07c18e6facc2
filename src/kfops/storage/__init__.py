"""Storage: the NFS provisioner, the default StorageClass and Pipelines' object store."""

from ._features import object_store_features, storage_features
from ._preflight import storage_checks

__all__ = ["object_store_features", "storage_checks", "storage_features"]
