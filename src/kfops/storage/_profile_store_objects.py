"""Per-namespace store objects the pipelines profile controller wrote for another store.

The controller's DecoratorController updates its Secrets and ConfigMaps
`OnDelete` (in every release): after the object store changes, the profile
namespaces keep pointing at the old one until those objects are deleted and
the controller writes them anew. kfops finds them by comparing each one with
what the controller's hook (`_pipelines_hook`, the same code) writes for the
rendered settings; with the in-cluster store, by the hook's mark.

With the in-cluster SeaweedFS (v1.11 and newer) the release's controller makes
each namespace its own SeaweedFS identity, limited to the namespace's
artifacts, but only when the namespace has no key Secret yet. A namespace
from v1.10 holds the controller's copy of the platform's shared key instead,
and would keep it for good: that copy is stale too. It is told apart exactly:
metacontroller wrote it for the pipelines profile controller (its
`metacontroller.k8s.io/decorator-controller` annotation, which metacontroller
puts on every attachment it makes: metacontroller's
pkg/controller/decorator/controller.go), and its access key is the
platform's. A Secret an administrator made carries no such annotation, and a
key SeaweedFS's IAM made for the namespace is never the platform's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kfops.cluster import Cluster
from kfops.objects import container_env, secret_value
from kfops.render import BundleObject, EditableBundle

from . import _pipelines_hook as hook
from ._in_cluster_store import find_in_cluster_store

PIPELINES_LABEL = "pipelines.kubeflow.org/enabled"
#: Metacontroller's mark on what a DecoratorController attached (its value: the controller).
DECORATOR_ANNOTATION = "metacontroller.k8s.io/decorator-controller"


@dataclass(frozen=True)
class StaleObject:
    """A controller-written object that points at another store."""

    kind: str
    namespace: str
    name: str
    reason: str

    @property
    def what(self) -> str:
        """`kind namespace/name`."""
        return f"{self.kind} {self.namespace}/{self.name}"


def stale_store_objects(cluster: Cluster, objects: Sequence[dict[str, Any]]
                        ) -> list[StaleObject]:
    """Objects in pipelines-enabled namespaces that the rendered `objects` would change."""
    settings = rendered_settings(objects)
    keys = _rendered_keys(objects, settings)
    shared = _shared_key_copies(objects) if settings is None else None
    stale = []
    for namespace in cluster.list("v1", "Namespace", labels={PIPELINES_LABEL: "true"}):
        name = namespace["metadata"]["name"]
        live = {(kind, obj_name): obj for kind, obj_name in hook.STORE_OBJECTS
                if (obj := cluster.get("v1", kind, obj_name, name)) is not None}
        stale += (_stale_for_release_store(name, live, shared) if settings is None
                  else _stale_for(settings, keys, name, live))
    return stale


def replace_stale(cluster: Cluster, stale: Sequence[StaleObject]) -> list[str]:
    """Delete `stale` so that the profile controller writes each anew; what was deleted."""
    return [item.what for item in stale
            if cluster.delete("v1", item.kind, item.name, item.namespace)]


def rendered_settings(objects: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The hook's settings in the rendered profile controller (None: the release's store)."""
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        for container in obj["spec"]["template"]["spec"].get("containers") or []:
            entry = container_env(container, hook.SETTINGS_ENV)
            if entry is not None and "value" in entry:
                return dict(json.loads(entry["value"]))
    return None


def _rendered_keys(objects: Sequence[dict[str, Any]], settings: dict[str, Any] | None
                   ) -> dict[str, str] | None:
    if settings is None or settings["credentials"] != "shared":
        return None
    for obj in objects:
        if obj.get("kind") == "Secret" and obj["metadata"]["name"] == hook.STORE_SECRET:
            access, secret = secret_value(obj, "accesskey"), secret_value(obj, "secretkey")
            if access is not None and secret is not None:
                return {"accesskey": access, "secretkey": secret}
    return None


@dataclass(frozen=True)
class _SharedKey:
    """The platform's access key and the DecoratorControllers that copied it (v1.10)."""

    access_key: str
    controllers: frozenset[str]


def _shared_key_copies(objects: Sequence[dict[str, Any]]) -> _SharedKey | None:
    """What a copy of the platform's key looks like when the rendered store is the release's
    SeaweedFS (whose controller gives each namespace a key of its own); None otherwise."""
    store = find_in_cluster_store(EditableBundle([BundleObject(o, "", "") for o in objects], {}))
    if store is None or store.product != "seaweedfs":
        return None
    namespace = store.deployment.obj["metadata"].get("namespace")
    key = next((secret_value(o, "accesskey") for o in objects if o.get("kind") == "Secret"
                and o["metadata"]["name"] == hook.STORE_SECRET
                and o["metadata"].get("namespace") == namespace), None)
    controllers = frozenset(str(o["metadata"]["name"]) for o in objects
                            if o.get("kind") == "DecoratorController"
                            and any(a.get("resource") == "secrets"
                                    for a in (o.get("spec") or {}).get("attachments") or []))
    return _SharedKey(key, controllers) if key and controllers else None


def _stale_for_release_store(namespace: str, live: dict[tuple[str, str], dict[str, Any]],
                             shared: _SharedKey | None) -> list[StaleObject]:
    stale = []
    for (kind, name), obj in live.items():
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if hook.MARK in annotations:
            stale.append(StaleObject(kind, namespace, name, "written for an external object "
                                     "store; the release's controller writes it for its own"))
        elif (shared is not None and (kind, name) == ("Secret", hook.STORE_SECRET)
              and annotations.get(DECORATOR_ANNOTATION) in shared.controllers
              and secret_value(obj, "accesskey") == shared.access_key):
            stale.append(StaleObject(kind, namespace, name, "a copy of the platform's shared "
                                     "store key (v1.10's controller wrote it); SeaweedFS's "
                                     "controller writes a key of the namespace's own"))
    return stale


def _stale_for(settings: dict[str, Any], keys: dict[str, str] | None, namespace: str,
               live: dict[tuple[str, str], dict[str, Any]]) -> list[StaleObject]:
    launcher = live.get(("ConfigMap", "kfp-launcher"))
    expected = {(o["kind"], o["metadata"]["name"]): o for o in hook.store_objects(
        settings, namespace, keys, (launcher or {}).get("data"))}
    own = hook.secret_name(settings, namespace)
    stale = []
    for (kind, name), obj in live.items():
        want = expected.get((kind, name))
        if want is None:
            if settings["credentials"] == "perNamespace" and name == own:
                continue  # the administrator's Secret for this namespace
            stale.append(StaleObject(kind, namespace, name, "the object store no longer "
                                                            "uses it"))
        elif _content(obj) != _content(want):
            stale.append(StaleObject(kind, namespace, name, "points at another object store "
                                                            "(its controller writes it anew)"))
    return stale


def _content(obj: dict[str, Any]) -> dict[str, str]:
    """`data` as the API server returns it (a Secret's `stringData` folded in)."""
    data = dict(obj.get("data") or {})
    if obj.get("kind") == "Secret":
        data = {key: secret_value(obj, key) or "" for key in
                {*data, *(obj.get("stringData") or {})}}
    return data
