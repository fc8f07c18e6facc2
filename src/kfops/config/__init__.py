"""The platform file: its model, loading with located errors, and its JSON Schema."""

from ._airgap import Airgap
from ._auth import Connector, StaticUser
from ._customize import Patch, PatchTarget
from ._edit import Change, Edited, edit_platform
from ._edit_auth import UserEntry, add_users, remove_user, set_user_password
from ._edit_tenancy import add_profile, remove_contributor, remove_profile, set_contributor
from ._files import (
    CSV_FILE_LIMIT,
    MANIFEST_FILE_LIMIT,
    PLATFORM_FILE_LIMIT,
    SECRET_FILE_LIMIT,
    FileRefused,
    kfops_cache_dir,
    read_limited,
    size_text,
)
from ._flags import airgap_registry, new_profile
from ._gpu import (
    KARPENTER_VERSION,
    Gpu,
    Karpenter,
    NodePool,
    Taint,
    duration_seconds,
)
from ._loader import (
    DEFAULT_PLATFORM_FILE,
    PLACEHOLDER,
    LoadedPlatform,
    load_platform,
    parse_platform,
)
from ._lock import Holder, WaitNotice, lock_path
from ._network import ACME_SERVERS, TLS
from ._platform import TARGETS, Platform, Spec
from ._release import PipelinesSettings
from ._schema import json_schema
from ._storage import AzureBlob, Nfs, ObjectStore, StoreCredentials
from ._tenancy import Profile
from ._types import MIN_BCRYPT_COST, SecretRef, is_url, parse_quantity
from ._yaml import MAX_DEPTH, MAX_NODES

__all__ = [
    "ACME_SERVERS",
    "CSV_FILE_LIMIT",
    "DEFAULT_PLATFORM_FILE",
    "KARPENTER_VERSION",
    "MANIFEST_FILE_LIMIT",
    "MAX_DEPTH",
    "MAX_NODES",
    "MIN_BCRYPT_COST",
    "PLACEHOLDER",
    "PLATFORM_FILE_LIMIT",
    "SECRET_FILE_LIMIT",
    "TARGETS",
    "TLS",
    "Airgap",
    "AzureBlob",
    "Change",
    "Connector",
    "Edited",
    "FileRefused",
    "Gpu",
    "Holder",
    "Karpenter",
    "LoadedPlatform",
    "Nfs",
    "NodePool",
    "ObjectStore",
    "Patch",
    "PatchTarget",
    "PipelinesSettings",
    "Platform",
    "Profile",
    "SecretRef",
    "Spec",
    "StaticUser",
    "StoreCredentials",
    "Taint",
    "UserEntry",
    "WaitNotice",
    "add_profile",
    "add_users",
    "airgap_registry",
    "duration_seconds",
    "edit_platform",
    "is_url",
    "json_schema",
    "kfops_cache_dir",
    "load_platform",
    "lock_path",
    "new_profile",
    "parse_platform",
    "parse_quantity",
    "read_limited",
    "remove_contributor",
    "remove_profile",
    "remove_user",
    "set_contributor",
    "set_user_password",
    "size_text",
]
