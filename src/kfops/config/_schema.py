"""JSON Schema of the platform file, generated from the model for editors."""

from __future__ import annotations

from typing import Any

from ._platform import Platform


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `platform.yaml`."""
    schema = Platform.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kfops platform.yaml"
    return schema
