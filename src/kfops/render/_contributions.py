"""How features above the render (identity, environments, tenancy, ...) shape the bundle.

A contribution edits upstream objects, adds its own, or leaves some out; the
render applies every contribution after assembly and before validation, so
everything a contribution produces is validated like upstream objects are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from kfops.catalog import ReleaseCatalog
from kfops.config import LoadedPlatform, UserEntry
from kfops.errors import RenderError
from kfops.objects import ApplySet, Identity, identity_of
from kfops.validate import ExtraCrd

from ._documents import dump_document, load_documents
from ._objects import BundleObject
from ._sources import SourceFetcher

CONFIG_DIGEST = "kfops.io/config-digest"


@dataclass(frozen=True)
class GeneratedValue:
    """A value from the state directory and the Secret key it was written to."""

    state_name: str
    secret: Identity
    key: str
    rotatable: bool = True
    """False where a new value in the Secret alone would break its readers (a database
    password the database keeps from its first start): `--rotate-secrets` keeps it."""


@dataclass(frozen=True)
class CrdRequirement:
    """A CRD that something other than kfops installs (Helm), which an apply needs first."""

    crd: str
    why: str
    fix: str
    """What the admin runs to install it."""


class GeneratedValues(Protocol):
    """Where generated values come from and are kept (kfops.secrets.StateDir in an install)."""

    def generated(self, name: str, make: Callable[[], str]) -> str:
        """The value called `name`, made with `make` the first time it is asked for."""

    def save(self) -> None:
        """Keep the values made since the last save (called once the bundle is valid)."""


@dataclass(frozen=True)
class RenderContext:
    """What a contribution may read: the platform, the release, generated values, sources."""

    loaded: LoadedPlatform
    catalog: ReleaseCatalog
    installed: frozenset[str]
    state: GeneratedValues
    sources: SourceFetcher
    kubernetes_version: str
    live_users: tuple[UserEntry, ...] = ()
    """Dex users the cluster holds from `kfops user add --live` (kept beside the file's)."""


@dataclass
class EditableBundle:
    """The assembled objects, open for contributions to edit, extend and trim."""

    items: list[BundleObject]
    labels: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    added: dict[str, str] = field(default_factory=dict)
    """Components contributions added, and why."""
    prereqs: set[str] = field(default_factory=set)
    generated: list[GeneratedValue] = field(default_factory=list)
    """Where generated values went, so an apply can adopt what the cluster already holds."""
    files: dict[str, str] = field(default_factory=dict)
    """Files beside the objects (Helm values, install commands): bundle path -> text."""
    schemas: list[ExtraCrd] = field(default_factory=list)
    """CRDs that are not applied but validate added objects (Karpenter's, installed by Helm)."""
    requirements: list[CrdRequirement] = field(default_factory=list)
    image_sources: dict[str, str] = field(default_factory=dict)
    """Rewritten image -> the image it was (images.txt lists sources)."""
    _dirty: set[int] = field(default_factory=set)

    def find(self, kind: str, name: str, namespace: str | None = None) -> BundleObject | None:
        """The object `kind namespace/name`, or None when the bundle has none."""
        for item in self.items:
            _, item_kind, item_namespace, item_name = identity_of(item.obj)
            if (item_kind, item_name) == (kind, name) and (namespace or "") == item_namespace:
                return item
        return None

    def require(self, kind: str, name: str, namespace: str | None = None) -> BundleObject:
        """The object `kind namespace/name`; an error naming it when the release lacks it."""
        item = self.find(kind, name, namespace)
        if item is None:
            where = f"{namespace}/{name}" if namespace else name
            raise RenderError(f"the release has no {kind} {where}, which kfops needs to change; "
                              "is its component switched off?")
        return item

    def of_kind(self, kind: str) -> Iterator[BundleObject]:
        """Every object of `kind`."""
        return (item for item in self.items if item.kind == kind)

    def edit(self, item: BundleObject) -> dict[str, Any]:
        """The object to change in place; its text is written anew."""
        self._dirty.add(id(item))
        return item.obj

    def add(self, obj: dict[str, Any], component: str, why: str, prereq: bool = False) -> None:
        """A new object of a (possibly new) component, labelled like every other."""
        metadata = obj.setdefault("metadata", {})
        metadata["labels"] = {**(metadata.get("labels") or {}), **self.labels}
        if any(identity_of(i.obj) == identity_of(obj) for i in self.items):
            raise RenderError(f"{component} adds {obj['kind']} {metadata.get('name')}, "
                              "which the bundle already has")
        self.items.append(BundleObject(obj, "", component))
        self._dirty.add(id(self.items[-1]))
        self.added.setdefault(component, why)
        if prereq:
            self.prereqs.add(component)

    def add_file(self, path: str, text: str) -> None:
        """A file beside the objects, e.g. `helm/gpu-operator-values.yaml`."""
        if path in self.files:
            raise RenderError(f"two features write {path}")
        self.files[path] = text

    def validate_with(self, file: str, text: str, source: str) -> int:
        """Validate objects against the CRDs in `text`, kept as `schemas/<file>`, not applied.

        Returns how many CRDs `text` holds.
        """
        crds = [o for o in load_documents(text, origin=source)
                if o.get("kind") == "CustomResourceDefinition"]
        self.schemas += [ExtraCrd(crd, source) for crd in crds]
        self.add_file(f"schemas/{file}", text)
        return len(crds)

    def needs_crd(self, crd: str, why: str, fix: str) -> None:
        """An apply stops before any change unless the cluster serves `crd`."""
        self.requirements.append(CrdRequirement(crd, why, fix))

    def record_generated(self, state_name: str, secret: BundleObject, key: str,
                         rotatable: bool = True) -> None:
        """Note that the generated value `state_name` is `key` of the Secret `secret`."""
        self.generated.append(GeneratedValue(state_name, identity_of(secret.obj), key,
                                             rotatable))

    def restart_on_change(self, workload: BundleObject, *configs: BundleObject) -> None:
        """Make `workload`'s pods restart when the content of `configs` changes.

        Pods read ConfigMaps and Secrets at start; a digest of their content in
        the pod template's annotations rolls the pods exactly when it changes.
        """
        digest = hashlib.sha256(json.dumps(
            [{k: c.obj.get(k) for k in ("data", "stringData")} for c in configs], sort_keys=True,
        ).encode()).hexdigest()[:16]
        template = self.edit(workload)["spec"]["template"]
        metadata = template.setdefault("metadata", {})
        metadata["annotations"] = {**(metadata.get("annotations") or {}),
                                   CONFIG_DIGEST: digest}

    def remove(self, item: BundleObject) -> None:
        """Leave `item` out of the bundle."""
        self.items = [i for i in self.items if i is not item]

    def warn(self, message: str) -> None:
        """A warning printed with the render's result."""
        self.warnings.append(message)

    def finish(self) -> list[BundleObject]:
        """The objects, with the text of every changed or added one written anew."""
        for item in self.items:
            if id(item) in self._dirty:
                item.text = dump_document(item.obj)
        return self.items


class Contribution(Protocol):
    """A feature that shapes the bundle."""

    name: str

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Edit, add or remove objects of `bundle`."""


def member_labels(platform: str) -> dict[str, str]:
    """The inventory labels every object of a platform carries."""
    return ApplySet(platform).member_labels()
