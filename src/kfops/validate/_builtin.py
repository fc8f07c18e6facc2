"""Schemas of Kubernetes' built-in kinds for one Kubernetes version (kubernetes-validate's)."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema
    from referencing import Registry

_DEFINITIONS = "/api/_definitions.json"
OBJECT_META = f"{_DEFINITIONS}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def schema_root() -> Path:
    """The folder of kubernetes-validate's JSON schemas (found without importing the package,
    which imports jsonschema: a no-change re-render must not pay for that)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kubernetes-validate is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


def supported_versions() -> list[str]:
    """Kubernetes minor versions there are schemas for, oldest first."""
    found = {m.group(1) for p in schema_root().iterdir()
             if (m := re.match(r"^v(\d+\.\d+)\.\d+-local-strict$", p.name))}
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


class BuiltinSchemas:
    """Validators for built-in kinds of one Kubernetes minor version, made on first use."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.folder = schema_root() / f"v{version}.0-local-strict"

    @functools.cached_property
    def registry(self) -> Registry[Any]:
        """The registry resolving `$ref`s into the version's shared definitions."""
        from referencing import Registry, Resource  # noqa: PLC0415 - imported when first used

        definitions = json.loads((self.folder / "_definitions.json").read_text())
        return Resource.from_contents(definitions) @ Registry()

    def validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        """The validator of a built-in kind, or None when Kubernetes has no such kind."""
        return self._validator(api_version, kind)

    @functools.cache  # noqa: B019 - one instance per render, bounded by the kinds seen
    def _validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        group, _, version = api_version.rpartition("/")
        short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        path = self.folder / f"{kind.lower()}-{short}.json"
        if not path.is_file():
            return None
        schema = json.loads(path.read_text())
        gvks = schema.get("x-kubernetes-group-version-kind") or []
        # kubernetes-validate names files by the group's first label; confirm the full group.
        if not any(g.get("group", "") == group and g.get("kind") == kind and
                   g.get("version") == version for g in gvks):
            return None
        import jsonschema  # noqa: PLC0415 - imported when first used
        from referencing import Resource  # noqa: PLC0415

        registry = Resource.from_contents(schema) @ self.registry
        return jsonschema.Draft202012Validator(schema, registry=registry)
