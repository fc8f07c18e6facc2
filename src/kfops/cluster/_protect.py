"""What prune and uninstall never delete without --purge-data: the users' data.

PersistentVolumeClaims; Profiles (deleting one deletes its namespace), except
that a Profile annotated `kfops.io/prune: when-namespace-has-no-pvcs` (the
ones from spec.profiles) goes while its namespace holds no PVC; namespaces
holding PVCs; CustomResourceDefinitions that still have
instances (deleting the Profile CRD deletes every Profile); anything
annotated `kfops.io/keep`.
"""

from __future__ import annotations

from typing import Any

from ._api import Cluster

KEEP = "kfops.io/keep"
PRUNE_RULE = "kfops.io/prune"
WITHOUT_PVCS = "when-namespace-has-no-pvcs"


def protection_reason(cluster: Cluster, obj: dict[str, Any]) -> str | None:
    """Why deleting `obj` would lose data, or None when it is safe."""
    metadata = obj["metadata"]
    if KEEP in (metadata.get("annotations") or {}):
        return f"annotated {KEEP}"
    kind = obj["kind"]
    if kind == "PersistentVolumeClaim":
        return "holds data (a PersistentVolumeClaim)"
    if kind == "Profile" and str(obj["apiVersion"]).startswith("kubeflow.org/"):
        if (metadata.get("annotations") or {}).get(PRUNE_RULE) == WITHOUT_PVCS:
            claims = namespace_claims(cluster, metadata["name"])
            return f"its namespace holds PersistentVolumeClaims ({claims})" if claims else None
        return "a Profile: deleting it deletes its namespace and everything in it"
    if kind == "Namespace":
        claims = namespace_claims(cluster, metadata["name"])
        if claims:
            return f"holds PersistentVolumeClaims ({claims})"
    if kind == "CustomResourceDefinition":
        count = _instances(cluster, obj)
        if count:
            return f"{count} {obj['spec']['names']['kind']} object(s) still exist"
    return None


def namespace_claims(cluster: Cluster, namespace: str) -> str:
    """The PVCs of a namespace, comma-separated ("" when none)."""
    claims = cluster.list("v1", "PersistentVolumeClaim", namespace)
    return ", ".join(sorted(c["metadata"]["name"] for c in claims))


def _instances(cluster: Cluster, crd: dict[str, Any]) -> int:
    cluster.learn_crds([crd])
    spec = crd["spec"]
    total = 0
    for version in spec.get("versions") or []:
        if version.get("storage"):
            total = len(cluster.list(f"{spec['group']}/{version['name']}",
                                     spec["names"]["kind"]))
    return total
