"""The release's own object store (MinIO in v1.10, SeaweedFS from v1.11) and what belongs to it.

Found from the rendered objects, not from a per-release list: the store is the
Deployment running a MinIO or SeaweedFS image; its objects are the Services
that select its pods, the claims it mounts, its ServiceAccount and the RBAC,
network and Istio policies aimed at its pods or Services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kfops.objects import selector_matches, split_reference
from kfops.render import BundleObject, EditableBundle

#: Image repositories (last path part) of the stores Kubeflow releases run.
STORE_IMAGES = frozenset({"minio", "seaweedfs"})


@dataclass(frozen=True)
class InClusterStore:
    """The store's Deployment, its objects, and the host names its clients use."""

    deployment: BundleObject
    objects: tuple[BundleObject, ...]
    """Every object of the store, the Deployment and its claims included."""
    hosts: frozenset[str]
    """Names clients reach it by: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`."""

    @property
    def claims(self) -> tuple[BundleObject, ...]:
        """Its PersistentVolumeClaims (the data)."""
        return tuple(item for item in self.objects if item.kind == "PersistentVolumeClaim")

    @property
    def server(self) -> dict[str, Any]:
        """The container running the store (in the Deployment's object itself)."""
        return next(c for c in _pod(self.deployment.obj).get("containers") or []
                    if image_repository(str(c.get("image", ""))) in STORE_IMAGES)

    @property
    def image(self) -> str:
        """The store's image, as the release names it."""
        return str(self.server["image"])

    @property
    def product(self) -> str:
        """`minio` or `seaweedfs`."""
        return image_repository(self.image)


def find_in_cluster_store(bundle: EditableBundle) -> InClusterStore | None:
    """The release's store in `bundle`, or None when Pipelines (or its store) is left out."""
    return next(iter(find_in_cluster_stores(bundle)), None)


def find_in_cluster_stores(bundle: EditableBundle) -> list[InClusterStore]:
    """Every store in `bundle`: one in a render; two in a cluster during an upgrade (the
    old release's, the new one's)."""
    return [_store_of(bundle, item) for item in bundle.of_kind("Deployment")
            if _runs_store(item.obj)]


def _store_of(bundle: EditableBundle, deployment: BundleObject) -> InClusterStore:
    namespace = deployment.obj["metadata"].get("namespace", "")
    pod = _pod(deployment.obj)
    labels = (deployment.obj["spec"]["template"].get("metadata") or {}).get("labels") or {}
    services = [item for item in _in(bundle.of_kind("Service"), namespace)
                if _selects({"matchLabels": item.obj["spec"].get("selector")}, labels)
                and item.obj["spec"].get("selector")]
    hosts = frozenset(_host_names(services, namespace))
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod.get("volumes") or []
              if "persistentVolumeClaim" in v}
    account = pod.get("serviceAccountName")
    found = [deployment, *services]
    for item in _in(bundle.items, namespace):
        if item in found:
            continue
        if _belongs(item.obj, labels, claims, account, hosts):
            found.append(item)
    return InClusterStore(deployment, tuple(found), hosts)


def image_repository(image: str) -> str:
    """The last part of an image's repository: `seaweedfs` of docker.io/chrislusf/seaweedfs:4.00."""
    return split_reference(image)[0].rsplit("/", 1)[-1]


def _runs_store(obj: dict[str, Any]) -> bool:
    return any(image_repository(str(c.get("image", ""))) in STORE_IMAGES
               for c in _pod(obj).get("containers") or [])


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = obj["spec"]["template"]["spec"]
    return pod


def _in(items: Iterable[BundleObject], namespace: str) -> list[BundleObject]:
    return [item for item in items if item.obj["metadata"].get("namespace", "") == namespace]


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a non-empty label selector picks the store's pods (an empty one picks all)."""
    return bool(selector) and selector_matches(selector, labels)


def _host_names(services: list[BundleObject], namespace: str) -> list[str]:
    names = []
    for service in services:
        name = service.obj["metadata"]["name"]
        names += [name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
                  f"{name}.{namespace}.svc.cluster.local"]
    return names


def _belongs(obj: dict[str, Any], labels: dict[str, str], claims: set[str],
             account: str | None, hosts: frozenset[str]) -> bool:
    kind = obj.get("kind")
    name = str(obj["metadata"]["name"])
    spec = obj.get("spec") or {}
    if kind == "PersistentVolumeClaim":
        return name in claims
    if kind == "ServiceAccount":
        return name == account
    if kind in ("Role", "RoleBinding"):
        subjects = obj.get("subjects") or []
        return (bool(account) and any(s.get("kind") == "ServiceAccount" and s.get("name") ==
                                     account for s in subjects)) or name == account
    if kind == "NetworkPolicy":
        return _selects(spec.get("podSelector"), labels)
    if kind == "AuthorizationPolicy":
        return _selects(spec.get("selector"), labels)
    if kind == "DestinationRule":
        return bool(spec.get("host") in hosts)
    return False
