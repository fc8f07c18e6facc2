"""Schemas of custom resources, from the CustomResourceDefinitions kfops knows about."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

from ._builtin import BuiltinSchemas
from ._cel import has_rules
from ._structural import to_json_schema


@dataclass(frozen=True)
class CrdVersion:
    """One version of one custom kind."""

    group: str
    kind: str
    version: str
    namespaced: bool
    served: bool
    schema: dict[str, Any]
    """The version's openAPIV3Schema, as written in the CRD."""
    source: str
    """Where the CRD came from (the bundle, or a CRD folder)."""


def crd_versions(crd: dict[str, Any], source: str) -> list[CrdVersion]:
    """Every version a CustomResourceDefinition object defines."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    shared = ((spec.get("validation") or {}).get("openAPIV3Schema")) or {}
    versions = []
    for entry in spec.get("versions") or []:
        schema = ((entry.get("schema") or {}).get("openAPIV3Schema")) or shared
        versions.append(CrdVersion(
            group=str(spec.get("group", "")), kind=str(names.get("kind", "")),
            version=str(entry.get("name", "")), namespaced=spec.get("scope") == "Namespaced",
            served=bool(entry.get("served", True)), schema=schema, source=source,
        ))
    return versions


class CrdSchemas:
    """Custom kinds by (group, kind), with JSON Schema validators made on first use."""

    def __init__(self, builtin: BuiltinSchemas) -> None:
        self._builtin = builtin
        self._kinds: dict[tuple[str, str], dict[str, CrdVersion]] = {}

    def add(self, crd: dict[str, Any], source: str) -> None:
        """Learn the kinds a CRD defines (a later CRD for the same kind replaces an earlier)."""
        for version in crd_versions(crd, source):
            self._kinds.setdefault((version.group, version.kind), {})[version.version] = version

    def versions(self, group: str, kind: str) -> dict[str, CrdVersion] | None:
        """The versions of a custom kind, or None when no CRD defines it."""
        return self._kinds.get((group, kind))

    def validator(self, version: CrdVersion) -> jsonschema.protocols.Validator:
        """The JSON Schema validator of one custom kind version."""
        return self._validator(version.group, version.kind, version.version)

    @functools.cache  # noqa: B019 - one instance per validation run
    def _validator(self, group: str, kind: str, version: str) -> jsonschema.protocols.Validator:
        import jsonschema  # noqa: PLC0415 - imported when first used

        schema = to_json_schema(self._kinds[(group, kind)][version].schema, root=True)
        # A base URI under /api/ lets the ObjectMeta `$ref` resolve into the built-in definitions.
        schema["$id"] = f"https://kubernetes.io/api/custom/{group or 'core'}/{version}/{kind}.json"
        return jsonschema.Draft202012Validator(schema, registry=self._builtin.registry)

    @functools.cache  # noqa: B019
    def has_rules(self, group: str, kind: str, version: str) -> bool:
        """Whether the version's schema carries CEL rules."""
        return has_rules(self._kinds[(group, kind)][version].schema)
