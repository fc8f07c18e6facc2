"""Storage: the NFS provisioner, the default StorageClass and Pipelines' object store."""

from ._features import object_store_features, storage_features
from ._preflight import storage_checks
from ._profile_store_objects import (
    StaleObject,
    rendered_settings,
    replace_stale,
    stale_store_objects,
)
from ._store_checks import store_checks
from ._store_move import (
    CopySummary,
    MoveDecision,
    StoreCopy,
    StoreEndpoint,
    StoreMove,
    decide_store_move,
    store_namespace,
)

__all__ = [
    "CopySummary",
    "MoveDecision",
    "StaleObject",
    "StoreCopy",
    "StoreEndpoint",
    "StoreMove",
    "decide_store_move",
    "object_store_features",
    "rendered_settings",
    "replace_stale",
    "stale_store_objects",
    "storage_checks",
    "storage_features",
    "store_checks",
    "store_namespace",
]
