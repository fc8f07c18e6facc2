"""`kfops check` of storage: a default StorageClass for Kubeflow's volumes."""

from __future__ import annotations

from kfops.catalog import DEFAULT_CLASS_ANNOTATION, NFS_STORAGE_CLASS
from kfops.cluster import Check, Cluster
from kfops.config import LoadedPlatform


def storage_checks(loaded: LoadedPlatform, cluster: Cluster) -> list[Check]:
    """The StorageClass Kubeflow's volumes get (the NFS one kfops installs, or the cluster's)."""
    return [storage_check(loaded, cluster)]


def storage_check(loaded: LoadedPlatform, cluster: Cluster) -> Check:
    """A default StorageClass (or the one spec.storage names) for Kubeflow's volumes."""
    storage = loaded.platform.spec.storage
    if storage.nfs is not None:
        return Check("storage", "pass", f"kfops installs the NFS provisioner ({NFS_STORAGE_CLASS},"
                                        f" default) for {storage.nfs.server}:{storage.nfs.path}")
    classes = {c["metadata"]["name"]: c for c in cluster.list("storage.k8s.io/v1",
                                                               "StorageClass")}
    defaults = sorted(name for name, c in classes.items() if _is_default(c))
    wanted = storage.default_storage_class
    if wanted is not None:
        if wanted not in classes:
            return Check("storage", "fail", f"StorageClass {wanted} (spec.storage."
                                            "defaultStorageClass) does not exist; there are: "
                                            + (", ".join(sorted(classes)) or "none"))
        if wanted not in defaults:
            return Check("storage", "fail", f"StorageClass {wanted} is not the default "
                                            f"(annotation {DEFAULT_CLASS_ANNOTATION}: \"true\")")
        return Check("storage", "pass", f"{wanted} is the default StorageClass")
    if not defaults:
        return Check("storage", "fail", "no default StorageClass: Kubeflow's volumes (Pipelines' "
                                        "database and artifacts, Katib) would stay Pending; "
                                        "set spec.storage.nfs or mark a class default")
    if len(defaults) > 1:
        return Check("storage", "warn", "several default StorageClasses: "
                                        + ", ".join(defaults))
    return Check("storage", "pass", f"{defaults[0]} is the default StorageClass")


def _is_default(storage_class: dict[str, object]) -> bool:
    metadata = storage_class.get("metadata") or {}
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return str((annotations or {}).get(DEFAULT_CLASS_ANNOTATION, "")).lower() == "true"
