"""The NFS subdir provisioner as the default StorageClass (`spec.storage.nfs`)."""

from __future__ import annotations

from typing import Any

from kfops.catalog import (
    DEFAULT_CLASS_ANNOTATION,
    NFS_FILES,
    NFS_IMAGE,
    NFS_NAMESPACE,
    NFS_STORAGE_CLASS,
)
from kfops.config import Nfs
from kfops.render import EditableBundle, Phase, RenderContext

_CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "StorageClass", "Namespace"}


class NfsStorage:
    """Install the provisioner from its published `deploy/` files, configured for this server."""

    name = "nfs"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add the provisioner in namespace nfs-provisioner and its default class nfs-client."""
        nfs = context.loaded.platform.spec.storage.nfs
        if nfs is None:
            return
        objects = [obj for name in NFS_FILES
                   for obj in context.sources.documents(context.sources.join(nfs.source, name))]
        provisioner = _provisioner_name(objects)
        bundle.add({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": NFS_NAMESPACE}}, "nfsProvisioner", "spec.storage.nfs",
                   prereq=True)
        for obj in objects:
            bundle.add(_configured(obj, nfs, provisioner), "nfsProvisioner", "spec.storage.nfs",
                       prereq=True)


def _provisioner_name(objects: list[dict[str, Any]]) -> str:
    for obj in objects:
        if obj.get("kind") == "StorageClass":
            return str(obj["provisioner"])
    return "k8s-sigs.io/nfs-subdir-external-provisioner"


def _configured(obj: dict[str, Any], nfs: Nfs, provisioner: str) -> dict[str, Any]:
    kind = obj.get("kind")
    if kind not in _CLUSTER_SCOPED:
        obj["metadata"]["namespace"] = NFS_NAMESPACE
    for subject in obj.get("subjects") or []:
        if subject.get("kind") == "ServiceAccount":
            subject["namespace"] = NFS_NAMESPACE
    if kind == "StorageClass":
        obj["metadata"] = {**obj["metadata"], "name": NFS_STORAGE_CLASS}
        obj["metadata"]["annotations"] = {
            **(obj["metadata"].get("annotations") or {}), DEFAULT_CLASS_ANNOTATION: "true"}
        obj["provisioner"] = provisioner
    if kind == "Deployment":
        _point_at_server(obj["spec"]["template"]["spec"], nfs, provisioner)
    return obj


def _point_at_server(pod: dict[str, Any], nfs: Nfs, provisioner: str) -> None:
    values = {"PROVISIONER_NAME": provisioner, "NFS_SERVER": nfs.server, "NFS_PATH": nfs.path}
    for container in pod["containers"]:
        container["image"] = NFS_IMAGE
        env = [e for e in container.get("env") or [] if e.get("name") not in values]
        container["env"] = [*env, *({"name": k, "value": v} for k, v in values.items())]
    for volume in pod.get("volumes") or []:
        if "nfs" in volume:
            volume["nfs"] = {"server": nfs.server, "path": nfs.path}
