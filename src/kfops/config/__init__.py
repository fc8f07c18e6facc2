"""The platform file: its model, loading with located errors, and its JSON Schema."""

from ._airgap import Airgap
from ._auth import Auth, Connector, StaticUser
from ._edit import Change, Edited, edit_platform
from ._edit_auth import UserEntry, add_users, remove_user, set_user_password
from ._edit_tenancy import add_profile, remove_contributor, remove_profile, set_contributor
from ._files import (
    CSV_FILE_LIMIT,
    MANIFEST_FILE_LIMIT,
    PLATFORM_FILE_LIMIT,
    SECRET_FILE_LIMIT,
    FileRefused,
    PathRules,
    kfops_cache_dir,
    read_limited,
    size_text,
)
from ._flags import airgap_registry, new_profile
from ._gpu import (
    KARPENTER_VERSION,
    Azure,
    Gpu,
    Karpenter,
    NodePool,
    Taint,
    TimeSlicing,
    duration_seconds,
)
from ._loader import PLACEHOLDER, LoadedPlatform, load_platform, parse_platform
from ._lock import Holder, WaitNotice, lock_path
from ._network import ACME_SERVERS, TLS, Acme, Ingress, MetalLB
from ._platform import API_VERSION, TARGETS, Platform, Spec, Target
from ._release import Components, Metadata, PipelinesSettings, Release
from ._schema import json_schema
from ._storage import Nfs, ObjectStore, Storage
from ._tenancy import Contributor, Profile
from ._types import MIN_BCRYPT_COST, SecretRef, is_url
from ._yaml import MAX_DEPTH, MAX_NODES

__all__ = [
    "ACME_SERVERS",
    "API_VERSION",
    "CSV_FILE_LIMIT",
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
    "Acme",
    "Airgap",
    "Auth",
    "Azure",
    "Change",
    "Components",
    "Connector",
    "Contributor",
    "Edited",
    "FileRefused",
    "Gpu",
    "Holder",
    "Ingress",
    "Karpenter",
    "LoadedPlatform",
    "Metadata",
    "MetalLB",
    "Nfs",
    "NodePool",
    "ObjectStore",
    "PathRules",
    "PipelinesSettings",
    "Platform",
    "Profile",
    "Release",
    "SecretRef",
    "Spec",
    "StaticUser",
    "Storage",
    "Taint",
    "Target",
    "TimeSlicing",
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
    "read_limited",
    "remove_contributor",
    "remove_profile",
    "remove_user",
    "set_contributor",
    "set_user_password",
    "size_text",
]
