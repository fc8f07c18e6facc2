"""A profile's objects: the Profile with its quota, contributors, PodDefaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfops.cluster import PRUNE_RULE, WITHOUT_PVCS
from kfops.config import Profile, Taint

from ._kfam import contributor_objects
from ._pod_defaults import gpu_toleration, pipeline_access

_QUOTA_SCOPES = ("requests.", "limits.", "count/")


def quota_hard(quota: Mapping[str, str | int]) -> dict[str, str]:
    """ResourceQuota `hard` entries: extended resources as `requests.<name>`.

    A ResourceQuota enforces an extended resource (nvidia.com/gpu) only under
    its `requests.` name; `cpu` and `memory` are valid as they are.
    """
    hard = {}
    for name, value in quota.items():
        extended = "/" in name and not name.startswith(_QUOTA_SCOPES) and \
            ".storageclass.storage.k8s.io/" not in name
        hard[f"requests.{name}" if extended else name] = str(value)
    return hard


def profile_object(name: str, owner: str, quota: Mapping[str, str | int]) -> dict[str, Any]:
    """The Profile (cluster-scoped; the profile controller makes its namespace).

    Annotated so that a sync deletes it, when it leaves the file, only while
    its namespace holds no PersistentVolumeClaim.
    """
    spec: dict[str, Any] = {"owner": {"kind": "User", "name": owner}}
    if quota:
        spec["resourceQuotaSpec"] = {"hard": quota_hard(quota)}
    return {"apiVersion": "kubeflow.org/v1", "kind": "Profile",
            "metadata": {"name": name, "annotations": {PRUNE_RULE: WITHOUT_PVCS}},
            "spec": spec}


def namespace_objects(profile: Profile, taint: Taint) -> list[dict[str, Any]]:
    """What goes into the profile's namespace: contributors, then PodDefaults."""
    objects = [obj for c in profile.contributors
               for obj in contributor_objects(profile.name, c.email, c.role)]
    if "pipelineAccess" in profile.pod_defaults:
        objects.append(pipeline_access(profile.name))
    if "gpuToleration" in profile.pod_defaults:
        objects.append(gpu_toleration(profile.name, taint))
    return objects
