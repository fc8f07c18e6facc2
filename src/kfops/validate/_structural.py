"""CRD structural schemas (OpenAPI v3 with Kubernetes extensions) as JSON Schema.

The API server prunes unknown fields of custom resources, and `kubectl apply
--server-side` (strict field validation by default) rejects them. So an
object schema with `properties` and neither `additionalProperties` nor
`x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false`.
OpenAPI's boolean `exclusiveMinimum`/`exclusiveMaximum`, `nullable` and
`x-kubernetes-int-or-string` are rewritten to their JSON Schema forms;
`x-kubernetes-validations` are left to the CEL step.
"""

from __future__ import annotations

from typing import Any

from ._builtin import OBJECT_META

_PASS = ("required", "enum", "pattern", "minimum", "maximum", "minLength", "maxLength",
         "minItems", "maxItems", "minProperties", "maxProperties", "multipleOf", "uniqueItems")
_COMBINERS = ("allOf", "anyOf", "oneOf")


def to_json_schema(schema: dict[str, Any], root: bool = False) -> dict[str, Any]:
    """A JSON Schema (2020-12) equivalent of one structural schema node."""
    out: dict[str, Any] = {key: schema[key] for key in _PASS if key in schema}
    _bounds(schema, out)
    if schema.get("x-kubernetes-int-or-string"):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    elif "type" in schema:
        out["type"] = [schema["type"], "null"] if schema.get("nullable") else schema["type"]
    if "enum" in out and schema.get("nullable"):
        out["enum"] = [*out["enum"], None]
    properties = {
        name: to_json_schema(sub) for name, sub in (schema.get("properties") or {}).items()
    }
    if root or schema.get("x-kubernetes-embedded-resource"):
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        properties["metadata"] = {"$ref": OBJECT_META} if root else {"type": "object"}
    if properties:
        out["properties"] = properties
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = to_json_schema(additional)
    elif additional is False or (
        properties and additional is None and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if isinstance(schema.get("items"), dict):
        out["items"] = to_json_schema(schema["items"])
    for combiner in _COMBINERS:
        if combiner in schema:
            out[combiner] = [_loose(to_json_schema(s)) for s in schema[combiner]]
    if "not" in schema:
        out["not"] = _loose(to_json_schema(schema["not"]))
    return out


def _bounds(schema: dict[str, Any], out: dict[str, Any]) -> None:
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if schema.get(exclusive) is True and bound in schema:
            out[exclusive] = schema[bound]
            out.pop(bound, None)


def _loose(schema: dict[str, Any]) -> dict[str, Any]:
    """Structural schemas forbid new fields inside allOf/anyOf/oneOf/not: they only constrain."""
    if schema.get("additionalProperties") is False:
        del schema["additionalProperties"]
    return schema
