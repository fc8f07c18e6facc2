"""Give each built object to its component, drop what is off, merge duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kfops.catalog import ReleaseCatalog
from kfops.errors import RenderError
from kfops.objects import (
    BUILTIN_CLUSTER_SCOPED,
    Identity,
    cluster_scoped_kinds,
    describe,
    identity_of,
)

from ._documents import dump_document
from ._objects import BundleObject
from ._units import Documents, Unit

DEFAULT_NAMESPACE = "default"
"""Where `kubectl apply` puts a namespaced object without a namespace (the default context)."""


@dataclass
class Assembled:
    """The bundle's objects and what assembling them changed that the user should know."""

    objects: list[BundleObject]
    warnings: list[str] = field(default_factory=list)


def assemble(
    units: Sequence[Unit], built: Sequence[Documents], catalog: ReleaseCatalog,
    installed: set[str],
) -> Assembled:
    """The bundle's objects: owned by installed components, each identity once.

    An object of a shared path (a NetworkPolicy in the kubeflow namespace
    folder, say) goes to the component the catalog gives it to, and is left
    out with that component. Two components producing the same object keep one
    copy when identical; differing copies are a conflict and stop the render.
    """
    by_identity: dict[Identity, BundleObject] = {}
    conflicts: list[str] = []
    warnings: list[str] = []
    cluster_scoped = _cluster_scoped(built)
    namespaced = _namespaced_custom(built)
    for unit, documents in zip(units, built, strict=True):
        for original_text, original in documents:
            text, obj = _without_cluster_namespace(original_text, original, cluster_scoped)
            text, obj = _without_aggregated_rules(text, obj)
            if _lacks_namespace(obj, cluster_scoped, namespaced):
                text, obj = _in_default_namespace(obj)
                warnings.append(f"{describe(obj)}: {unit.path} gives it no namespace; placed in "
                                f"{DEFAULT_NAMESPACE}, as kubectl apply would")
            _, kind, namespace, name = identity_of(obj)
            owner = catalog.owner_of(kind, namespace or None, name) or unit.component
            if owner not in installed:
                continue
            identity = identity_of(obj)
            previous = by_identity.get(identity)
            if previous is None:
                by_identity[identity] = BundleObject(obj, text, owner)
            elif previous.obj != obj:
                conflicts.append(
                    f"{describe(obj)}: {previous.component} and {owner} produce different "
                    f"versions (first difference at {_first_difference(previous.obj, obj)})"
                )
    if conflicts:
        raise RenderError("objects that two components both produce differ:\n" +
                          "\n".join(conflicts))
    return Assembled(list(by_identity.values()), warnings)


def _cluster_scoped(built: Sequence[Documents]) -> set[tuple[str, str]]:
    crds = [obj for documents in built for _, obj in documents]
    custom = cluster_scoped_kinds(crds)
    defined = {(str((o.get("spec") or {}).get("group", "")),
                str(((o.get("spec") or {}).get("names") or {}).get("kind", "")))
               for o in crds if o.get("kind") == "CustomResourceDefinition"}
    return custom | {(g, k) for g, k, _, _ in (identity_of(o) for o in crds)
                     if k in BUILTIN_CLUSTER_SCOPED and (g, k) not in defined}


def _namespaced_custom(built: Sequence[Documents]) -> set[tuple[str, str]]:
    """(group, kind) of the namespaced kinds the built CRDs define."""
    return {(str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))
            for documents in built for _, obj in documents
            if obj.get("kind") == "CustomResourceDefinition"
            and (spec := obj.get("spec") or {}).get("scope") == "Namespaced"}


def _lacks_namespace(obj: dict[str, Any], cluster_scoped: set[tuple[str, str]],
                     namespaced: set[tuple[str, str]]) -> bool:
    """A namespaced object without a namespace (built-in kinds, or kinds of built CRDs)."""
    group, kind, namespace, _ = identity_of(obj)
    if namespace or (group, kind) in cluster_scoped:
        return False
    builtin = "." not in group or group.endswith(".k8s.io")
    return (group, kind) in namespaced or (builtin and kind not in BUILTIN_CLUSTER_SCOPED)


def _in_default_namespace(obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    placed = {**obj, "metadata": {**obj["metadata"], "namespace": DEFAULT_NAMESPACE}}
    return dump_document(placed), placed


def _without_cluster_namespace(
    text: str, obj: dict[str, Any], cluster_scoped: set[tuple[str, str]]
) -> tuple[str, dict[str, Any]]:
    """A cluster-scoped object without the namespace some upstream paths give it.

    The API server ignores it, but it would make the object's identity (and so
    plan, prune and uninstall) depend on a meaningless field.
    """
    group, kind, namespace, _ = identity_of(obj)
    if not namespace or (group, kind) not in cluster_scoped:
        return text, obj
    metadata = {k: v for k, v in obj["metadata"].items() if k != "namespace"}
    cleaned = {**obj, "metadata": metadata}
    return dump_document(cleaned), cleaned


def _without_aggregated_rules(text: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An aggregated ClusterRole without the `rules` its upstream file gives it (`[]`).

    The controller manager writes an aggregated ClusterRole's rules and overwrites
    any that are applied (https://kubernetes.io/docs/reference/access-authn-authz/rbac/
    #aggregated-clusterroles): applying `rules: []` would empty the role until the
    controller fills it again, and every apply would fight it.
    """
    group, kind, _, _ = identity_of(obj)
    if (group, kind) != ("rbac.authorization.k8s.io", "ClusterRole") \
            or "aggregationRule" not in obj or "rules" not in obj:
        return text, obj
    cleaned = {k: v for k, v in obj.items() if k != "rules"}
    return dump_document(cleaned), cleaned


def _first_difference(left: Any, right: Any, path: str = "") -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if left.get(key) != right.get(key):
                return _first_difference(left.get(key), right.get(key), f"{path}.{key}")
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return path.lstrip(".") or "(whole object)"
