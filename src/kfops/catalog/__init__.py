"""Per-release facts: components, their kustomize paths, dependencies and owned objects."""

from ._lookup import (
    catalog_for,
    known_versions,
    releases_matching,
    same_release,
    supported_kubernetes,
)
from ._model import ReleaseCatalog
from ._prereqs import (
    DEFAULT_CLASS_ANNOTATION,
    GPU_OPERATOR_CHART,
    GPU_OPERATOR_CRD,
    GPU_OPERATOR_NAMESPACE,
    GPU_OPERATOR_REPO,
    GPU_RESOURCE,
    KARPENTER_CHART,
    KARPENTER_CRDS,
    KARPENTER_NAMESPACE,
    KARPENTER_SERVICE_ACCOUNT,
    METALLB_NAMESPACE,
    NFS_FILES,
    NFS_IMAGE,
    NFS_NAMESPACE,
    NFS_STORAGE_CLASS,
    TIME_SLICING_CONFIGMAP,
)
from ._seaweedfs import (
    PIPELINES_BUCKET_KEY,
    PIPELINES_CONFIG,
    SEAWEEDFS_REMOTE_SYNC_IMAGE,
    SEAWEEDFS_REMOTE_SYNC_MINIMUM,
)
from ._select import SelectedComponent, select_components
from ._settings import DEFAULT_SETTINGS, Credential, ObjectRef, Settings

__all__ = [
    "DEFAULT_CLASS_ANNOTATION",
    "DEFAULT_SETTINGS",
    "GPU_OPERATOR_CHART",
    "GPU_OPERATOR_CRD",
    "GPU_OPERATOR_NAMESPACE",
    "GPU_OPERATOR_REPO",
    "GPU_RESOURCE",
    "KARPENTER_CHART",
    "KARPENTER_CRDS",
    "KARPENTER_NAMESPACE",
    "KARPENTER_SERVICE_ACCOUNT",
    "METALLB_NAMESPACE",
    "NFS_FILES",
    "NFS_IMAGE",
    "NFS_NAMESPACE",
    "NFS_STORAGE_CLASS",
    "PIPELINES_BUCKET_KEY",
    "PIPELINES_CONFIG",
    "SEAWEEDFS_REMOTE_SYNC_IMAGE",
    "SEAWEEDFS_REMOTE_SYNC_MINIMUM",
    "TIME_SLICING_CONFIGMAP",
    "Credential",
    "ObjectRef",
    "ReleaseCatalog",
    "SelectedComponent",
    "Settings",
    "catalog_for",
    "known_versions",
    "releases_matching",
    "same_release",
    "select_components",
    "supported_kubernetes",
]
