"""What prune and uninstall never delete without --purge-data: the users' data.

PersistentVolumeClaims kfops applied (and those its StatefulSets' volume claim
templates made); Profiles (deleting one deletes its namespace), except that a
Profile annotated `kfops.io/prune: when-namespace-has-no-pvcs` (the ones from
spec.profiles) may go while its namespace holds nothing but what kfops and
Kubernetes made there; anything annotated `kfops.io/keep`. What a namespace,
Profile or CustomResourceDefinition holds is judged in _prune.
"""

from __future__ import annotations

from typing import Any

from kfops.objects import is_profile

from ._api import Cluster

KEEP = "kfops.io/keep"
PRUNE_RULE = "kfops.io/prune"
WITHOUT_PVCS = "when-namespace-has-no-pvcs"


def data_reason(obj: dict[str, Any]) -> str | None:
    """Why `obj` itself is data that --purge-data alone may delete, or None."""
    metadata = obj["metadata"]
    annotations = metadata.get("annotations") or {}
    if KEEP in annotations:
        return f"annotated {KEEP}"
    kind = obj["kind"]
    if kind == "PersistentVolumeClaim":
        return "holds data (a PersistentVolumeClaim)"
    if is_profile(obj) and annotations.get(PRUNE_RULE) != WITHOUT_PVCS:
        return "a Profile: deleting it deletes its namespace and everything in it"
    return None


def namespace_claims(cluster: Cluster, namespace: str) -> str:
    """The PVCs of a namespace, comma-separated ("" when none)."""
    claims = cluster.list("v1", "PersistentVolumeClaim", namespace)
    return ", ".join(sorted(c["metadata"]["name"] for c in claims))
