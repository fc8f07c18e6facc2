"""Profiles: owners, contributors (as KFAM writes them), quotas and PodDefaults."""

from ._features import tenancy_checks, tenancy_features
from ._kfam import binding_name, contributor_objects
from ._live import LiveProfiles, ProfileContents, ProfileInfo, file_profiles
from ._pod_defaults import gpu_toleration, pipeline_access
from ._profiles import quota_hard

__all__ = [
    "LiveProfiles",
    "ProfileContents",
    "ProfileInfo",
    "binding_name",
    "contributor_objects",
    "file_profiles",
    "gpu_toleration",
    "pipeline_access",
    "quota_hard",
    "tenancy_checks",
    "tenancy_features",
]
