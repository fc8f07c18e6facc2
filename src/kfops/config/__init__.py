"""The platform file: its model, loading with located errors, and its JSON Schema."""

from ._airgap import Airgap
from ._auth import Auth, Connector, StaticUser
from ._edit import Change, Edited, edit_platform
from ._edit_auth import UserEntry, add_users, remove_user, set_user_password
from ._edit_tenancy import add_profile, remove_contributor, remove_profile, set_contributor
from ._gpu import (
    GPU_OPERATOR_VERSION,
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
from ._release import DEFAULT_RELEASE, Components, Metadata, PipelinesSettings, Release
from ._schema import json_schema
from ._storage import Nfs, ObjectStore, Storage
from ._tenancy import Contributor, Profile
from ._types import SecretRef, is_url

__all__ = [
    "ACME_SERVERS",
    "API_VERSION",
    "DEFAULT_RELEASE",
    "GPU_OPERATOR_VERSION",
    "KARPENTER_VERSION",
    "PLACEHOLDER",
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
    "duration_seconds",
    "edit_platform",
    "is_url",
    "json_schema",
    "load_platform",
    "lock_path",
    "parse_platform",
    "remove_contributor",
    "remove_profile",
    "remove_user",
    "set_contributor",
    "set_user_password",
]
