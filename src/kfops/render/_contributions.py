"""How features above the render (identity, environments, tenancy, ...) shape the bundle.

A contribution edits upstream objects, adds its own, or leaves some out; the
render applies every contribution after assembly and before validation, so
everything a contribution produces is validated like upstream objects are.

The interface is closed: the render knows no feature. A contribution declares
its phase (shape, images, checks); what it reads from the cluster it is
given when the composition root (kfops.operations) constructs it; what it
wants in the lock it records under keys it owns (`EditableBundle.record`).
Its name marks its errors, warnings and time.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from kfops.catalog import ReleaseCatalog
from kfops.config import LoadedPlatform
from kfops.errors import RenderError, ValidationError
from kfops.objects import Identity, identity_of
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
    """CRDs that are not applied but validate added objects (e.g. those a Helm chart installs)."""
    _dirty: set[int] = field(default_factory=set)
    _entries: dict[str, tuple[str, Any]] = field(default_factory=dict)
    """Lock key -> (the contribution that recorded it, its value)."""
    _contributor: str | None = None
    """The contribution running now (the owner of what it records)."""

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

    def add(self, obj: dict[str, Any], component: str, why: str,
            prereq: bool = False) -> BundleObject:
        """A new object of a (possibly new) component, labelled like every other."""
        metadata = self.label(obj)
        if any(identity_of(i.obj) == identity_of(obj) for i in self.items):
            raise RenderError(f"{component} adds {obj['kind']} {metadata.get('name')}, "
                              "which the bundle already has")
        self.items.append(BundleObject(obj, "", component))
        self._dirty.add(id(self.items[-1]))
        self.added.setdefault(component, why)
        if prereq:
            self.prereqs.add(component)
        return self.items[-1]

    def label(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Give `obj` the install's labels (inventory and prune need them); its metadata."""
        metadata: dict[str, Any] = obj.setdefault("metadata", {})
        metadata["labels"] = {**(metadata.get("labels") or {}), **self.labels}
        return metadata

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

    def record(self, key: str, value: Any) -> None:
        """Write `value` (plain YAML data) under `key` of the bundle's lock (kfops.lock).

        The key belongs to the contribution that records it first: recording
        it again replaces the value; another contribution recording it is an
        error naming both.
        """
        owner = self._contributor
        if owner is None:
            raise RenderError(f"lock entry {key} is recorded outside a contribution")
        held = self._entries.get(key)
        if held is not None and held[0] != owner:
            raise RenderError(f"contributions {held[0]} and {owner} both record {key} in the "
                              "lock")
        self._entries[key] = (owner, value)

    @contextmanager
    def recording_for(self, name: str) -> Iterator[None]:
        """What is recorded meanwhile belongs to the contribution `name`."""
        self._contributor = name
        try:
            yield
        finally:
            self._contributor = None

    def lock_entries(self) -> dict[str, tuple[str, Any]]:
        """What contributions recorded for the lock: key -> (contribution, value)."""
        return dict(self._entries)

    def record_generated(self, state_name: str, secret: BundleObject, key: str,
                         rotatable: bool = True) -> None:
        """Note that the generated value `state_name` is `key` of the Secret `secret`."""
        self.generated.append(GeneratedValue(state_name, identity_of(secret.obj), key,
                                             rotatable))

    def forget_generated(self, secret: BundleObject) -> None:
        """`secret` holds no generated value any more (a feature set it from elsewhere)."""
        identity = identity_of(secret.obj)
        self.generated = [g for g in self.generated if g.secret != identity]

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


class Phase(enum.Enum):
    """When a contribution runs: the render runs the phases in this order, and the
    contributions of one phase in the order it was given them."""

    SHAPE = "shape"
    """Edit, add or remove objects."""
    IMAGES = "images"
    """Move image references; the bundle's image list (images.txt) is taken before this
    phase, so it names images as the release and the shaping features do."""
    CHECKS = "checks"
    """Refuse a bundle that is wrong as a whole; change nothing."""


class Contribution(Protocol):
    """A feature that shapes the bundle."""

    name: str
    """Unique among a render's contributions; names it in errors, warnings, timings and as
    the owner of its lock entries."""
    phase: Phase

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Edit, add or remove objects of `bundle`."""


@dataclass(frozen=True)
class Contributed:
    """What one contribution did in a render: its phase, its time and its warnings."""

    name: str
    phase: Phase
    seconds: float
    warnings: tuple[str, ...] = ()


def check_names(contributions: Sequence[Contribution]) -> None:
    """Refuse contributions that share a name (errors and lock entries would be ambiguous)."""
    seen: set[str] = set()
    for contribution in contributions:
        if contribution.name in seen:
            raise RenderError(f"two contributions are named {contribution.name}")
        seen.add(contribution.name)


def run_phase(phase: Phase, contributions: Sequence[Contribution], context: RenderContext,
              bundle: EditableBundle) -> list[Contributed]:
    """Run the contributions of `phase`, in the order given."""
    return [_run(c, context, bundle) for c in contributions if c.phase is phase]


def _run(contribution: Contribution, context: RenderContext,
         bundle: EditableBundle) -> Contributed:
    warned = len(bundle.warnings)
    start = time.perf_counter()
    try:
        with bundle.recording_for(contribution.name):
            contribution.contribute(context, bundle)
    except (RenderError, ValidationError) as error:
        error.add_note(f"raised by the render's {contribution.name} feature "
                       f"({contribution.phase.value} phase)")
        raise
    return Contributed(contribution.name, contribution.phase, time.perf_counter() - start,
                       tuple(bundle.warnings[warned:]))
