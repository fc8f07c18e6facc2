"""The writes an upgrade makes beside the staged apply, each safe to run again.

A re-run after an interruption finds what is left to do from the cluster: a
controller already at zero replicas is not scaled again, a recreated object is
simply created by the apply, a CRD whose storedVersions hold only its storage
version needs no rewrite, a workload whose pods run the new sidecar is not
restarted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kfops.cluster import Cluster, crd_instances
from kfops.errors import ObjectConflict, ObjectNotFound, OperationError
from kfops.objects import (
    WORKLOAD_KINDS,
    describe,
    image_tag,
    istio_proxy_image,
    selector_matches,
    storage_version,
)

from ._dumps import DATABASES
from ._immutable import ImmutableChange

CRD_API = "apiextensions.k8s.io/v1"
_INJECTOR = ("istio-system", "istio-sidecar-injector")

Notice = Callable[[str], None]
"""Told each object a step changes (for progress)."""


def stop_controllers(cluster: Cluster, names: Iterable[str], notice: Notice) -> list[str]:
    """Scale the old controllers (`Deployment namespace/name`) to zero; those scaled now."""
    stopped = []
    for name in names:
        kind, _, where = name.partition(" ")
        namespace, _, workload = where.partition("/")
        live = cluster.get("apps/v1", kind, workload, namespace)
        if live is None or (live.get("spec") or {}).get("replicas") == 0:
            continue
        cluster.merge_patch("apps/v1", kind, workload, {"spec": {"replicas": 0}}, namespace)
        stopped.append(name)
        notice(name)
    return stopped


def refuse_data_changes(changes: Sequence[ImmutableChange]) -> None:
    """Stop before any write when the new release changes an immutable field of a claim."""
    claims = [f"{describe(c.obj)}: {c.field}" for c in changes if c.keeps_data]
    if claims:
        raise OperationError(
            "nothing was changed: the new release changes fields of volume claims that "
            "Kubernetes does not let change, and kfops never deletes a claim (its data "
            "would go): " + "; ".join(claims) + ". Keep the old value with a patch, or move "
            "the data to a new claim yourself.")


def delete_for_recreation(cluster: Cluster, changes: Sequence[ImmutableChange],
                          notice: Notice) -> list[str]:
    """Delete each object whose immutable fields change, for the apply to create it anew;
    a StatefulSet's pods are orphaned (they and their claims stay, the new one adopts
    them)."""
    deleted = []
    for change in changes:
        if change.keeps_data:
            continue
        obj, metadata = change.obj, change.obj["metadata"]
        if cluster.delete(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                          metadata.get("namespace"), orphan=change.orphans):
            deleted.append(f"{describe(obj)} ({change.field})")
            notice(describe(obj))
    return deleted


def migrate_storage(cluster: Cluster, crd_names: Iterable[str], notice: Notice) -> list[str]:
    """Rewrite every object of each CRD stored in an older version, then trim
    `status.storedVersions` to the storage version: the procedure of
    https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/#upgrade-existing-objects-to-a-new-stored-version
    (a later release may then drop the old version). The CRDs migrated."""
    migrated = []
    for name in sorted(crd_names):
        crd = cluster.get(CRD_API, "CustomResourceDefinition", name)
        if crd is None:
            continue
        storage = storage_version(crd)
        stored = list((crd.get("status") or {}).get("storedVersions") or [])
        if not storage or not stored or stored == [storage]:
            continue  # nothing stored in another version
        for obj in crd_instances(cluster, crd):
            _rewrite(cluster, obj)
        cluster.merge_patch(CRD_API, "CustomResourceDefinition", name,
                            {"status": {"storedVersions": [storage]}}, status=True)
        migrated.append(f"{name}: {', '.join(stored)} → {storage}")
        notice(name)
    return migrated


def _rewrite(cluster: Cluster, obj: dict[str, Any]) -> None:
    """Write `obj` back unchanged: the API server stores it in the storage version."""
    try:
        cluster.replace(obj)
    except ObjectNotFound:
        pass  # deleted meanwhile: nothing left to migrate
    except ObjectConflict:
        pass  # written meanwhile, so stored in the storage version already


def sidecar_tag(objects: Iterable[dict[str, Any]]) -> str | None:
    """The proxy tag the new release's sidecar injector sets (its values' `global.tag`)."""
    for obj in objects:
        metadata = obj["metadata"]
        if obj["kind"] == "ConfigMap" and (metadata.get("namespace"), metadata["name"]) \
                == _INJECTOR:
            try:
                values = json.loads((obj.get("data") or {}).get("values") or "{}")
            except ValueError:
                return None
            tag = (values.get("global") or {}).get("tag")
            return str(tag) if tag else None
    return None


def old_sidecar_workloads(cluster: Cluster, namespaces: Iterable[str],
                          tag: str) -> list[dict[str, Any]]:
    """Workloads in `namespaces` with a pod whose Istio sidecar is not at `tag`."""
    found: dict[str, dict[str, Any]] = {}
    for namespace in sorted(set(namespaces)):
        pods = [p for p in cluster.list("v1", "Pod", namespace) if _old_sidecar(p, tag)]
        if not pods:
            continue
        for kind in WORKLOAD_KINDS:
            for workload in cluster.list("apps/v1", kind, namespace):
                if any(_selects(workload, pod) for pod in pods):
                    found[describe(workload)] = workload
    return [found[key] for key in sorted(found)]


def _old_sidecar(pod: dict[str, Any], tag: str) -> bool:
    image = istio_proxy_image(pod)
    return image is not None and image_tag(image) != tag


def _selects(workload: dict[str, Any], pod: dict[str, Any]) -> bool:
    selector = (workload.get("spec") or {}).get("selector")
    # An empty selector selects nothing here: every workload of apps/v1 has one.
    return bool(selector) and selector_matches(selector, pod["metadata"].get("labels") or {})


def reset_databases(cluster: Cluster, notice: Notice) -> list[str]:
    """Delete the platform's databases (their Deployments, then their claims) for the apply
    to create them empty: a downgrade's older MySQL cannot open what the newer one wrote,
    and the backup's dumps are loaded into them after. The claims deleted."""
    deleted = []
    for database in DATABASES:
        live = cluster.get("apps/v1", "Deployment", database.deployment, database.namespace)
        if live is None:
            continue
        pod = ((live.get("spec") or {}).get("template") or {}).get("spec") or {}
        claims = [str(v["persistentVolumeClaim"]["claimName"]) for v in pod.get("volumes") or []
                  if v.get("persistentVolumeClaim")]
        cluster.delete("apps/v1", "Deployment", database.deployment, database.namespace)
        for claim in claims:
            if cluster.delete("v1", "PersistentVolumeClaim", claim, database.namespace):
                deleted.append(f"PersistentVolumeClaim {database.namespace}/{claim}")
                notice(claim)
    return deleted
