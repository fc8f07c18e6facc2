"""`spec.storage` and `spec.objectStore`: volumes and pipeline artifacts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ._types import DnsSubdomain, Host, Source, Strict, Text

NFS_SOURCE = (
    "https://raw.githubusercontent.com/kubernetes-sigs/nfs-subdir-external-provisioner/v4.0.2/deploy/"
)


class Nfs(Strict):
    """Install the NFS subdir provisioner as the default StorageClass."""

    server: Host
    """NFS server name or address."""
    path: Text
    """Exported path on the server."""
    source: Source = NFS_SOURCE
    """A folder (path or base URL) with rbac.yaml, deployment.yaml and class.yaml."""

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise PydanticCustomError(
                "nfs_path", "expected an absolute export path such as /srv/kubeflow"
            )
        return value


class Storage(Strict):
    """Persistent volumes for notebooks, pipelines and databases."""

    default_storage_class: DnsSubdomain | None = Field(None, alias="defaultStorageClass")
    """A StorageClass that must exist and be the default (checked before install); null: any."""
    nfs: Nfs | None = None


class ObjectStore(Strict):
    """Where Kubeflow Pipelines keeps artifacts."""

    type: Literal["inCluster"] = "inCluster"
    """inCluster: the release's own MinIO/SeaweedFS (s3 and azureBlob are planned)."""
