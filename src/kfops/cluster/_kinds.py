"""What kfops knows about each kind it sends: plural, scope, and a lightkube resource for it.

Every object goes to the API as a lightkube *generic* resource, so the
dictionary kfops rendered is sent exactly as it is (a typed model would drop
fields its Kubernetes version does not know). Built-in kinds take their plural
and scope from lightkube's models; custom kinds from the CRDs in the bundle.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from lightkube import LoadResourceError
from lightkube.codecs import resource_registry
from lightkube.core.resource import ApiInfo, NamespacedResource, api_info
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    create_api_info,
)

from kfops.errors import ClusterError


@dataclass(frozen=True)
class KindInfo:
    """One kind as the API serves it."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """`group/version`, or `v1` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version


def builtin_kind(api_version: str, kind: str) -> bool:
    """Whether Kubernetes itself serves the kind (lightkube ships a model of it).

    Looked up in lightkube's modules, not its registry: the registry also holds the
    generic classes made for custom kinds in this process. The module names follow
    lightkube's own rule (`apps/v1` -> apps_v1, `rbac.authorization.k8s.io/v1` ->
    rbac_authorization_v1, `v1` -> core_v1); only groups without a dot, or ending in
    `.k8s.io`, are Kubernetes's.
    """
    group, _, version = api_version.rpartition("/")
    if "." in group and not group.endswith(".k8s.io"):
        return False
    module = (f"{group.removesuffix('.k8s.io').replace('.', '_')}_{version}" if group
              else f"core_{version}")
    try:
        found = importlib.import_module(f"lightkube.resources.{module.lower()}")
    except ImportError:
        return False
    return hasattr(found, kind)


class Kinds:
    """Kinds by (apiVersion, kind), from lightkube's models and the CRDs kfops applies."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], KindInfo] = {}
        self._classes: dict[KindInfo, type[Any]] = {}

    def learn_crd(self, crd: dict[str, Any]) -> None:
        """Know the kinds a CustomResourceDefinition defines."""
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            info = KindInfo(str(spec["group"]), str(version["name"]), str(spec["names"]["kind"]),
                            str(spec["names"]["plural"]), spec.get("scope") == "Namespaced")
            self._known[(info.api_version, info.kind)] = info

    def learn(self, info: KindInfo) -> None:
        """Know a kind the API server serves (from discovery)."""
        self._known[(info.api_version, info.kind)] = info

    def learn_crds_from(self, objects: list[dict[str, Any]]) -> None:
        """Know the kinds of every CRD among `objects`."""
        for obj in objects:
            if obj.get("kind") == "CustomResourceDefinition":
                self.learn_crd(obj)

    def knows(self, api_version: str, kind: str) -> bool:
        """Whether the kind is built in or defined by a CRD learned so far."""
        try:
            self.info(api_version, kind)
        except ClusterError:
            return False
        return True

    def info(self, api_version: str, kind: str) -> KindInfo:
        """The kind's plural and scope; an error when neither Kubernetes nor a CRD defines it."""
        known = self._known.get((api_version, kind))
        if known is not None:
            return known
        try:
            model = resource_registry.load(api_version, kind)
        except (LoadResourceError, ValueError):  # ValueError: an apiVersion with two slashes
            model = None
        if model is None:
            raise ClusterError(f"{kind} ({api_version}) is not a built-in kind, and no "
                               "CustomResourceDefinition of the bundle or the cluster defines it")
        group, _, version = api_version.rpartition("/")
        info = KindInfo(group, version, kind, str(api_info(model).plural),
                        issubclass(model, NamespacedResource))
        self._known[(api_version, kind)] = info
        return info

    def resource(self, api_version: str, kind: str) -> Any:
        """The lightkube generic resource class for the kind.

        Made here rather than with lightkube's create_*_resource, which refuses a
        generic class for a kind it already has a typed model of. `_api_info` is the
        class attribute lightkube's Resource declares for every resource class to set
        (its own generic and typed classes set it so): defined here, never read.
        """
        info = self.info(api_version, kind)
        made = self._classes.get(info)
        if made is None:
            base = GenericNamespacedResource if info.namespaced else GenericGlobalResource
            made = type(info.kind, (base,), {"_api_info": create_api_info(
                info.group, info.version, info.kind, info.plural)})
            self._classes[info] = made
        return made

    def status_resource(self, api_version: str, kind: str) -> Any:
        """The class of the kind's status subresource (as lightkube's generic resources
        make theirs: the parent's resource, action `status`)."""
        main = self.resource(api_version, kind)
        parent = main._api_info
        return type(f"{kind}Status", (main,), {"_api_info": ApiInfo(
            resource=parent.resource, parent=parent.resource, plural=parent.plural,
            verbs=["get", "patch", "put"], action="status")})
