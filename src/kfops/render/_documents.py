"""Split kustomize's YAML stream into objects, keeping each object's own text."""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Loader(yaml.CSafeLoader):
    """PyYAML's C loader without timestamp resolution.

    Kubernetes objects carry dates as strings; turning them into `date`
    objects would change them and break the JSON build cache.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}

_SEPARATOR = re.compile(r"^---[ \t]*\n", re.MULTILINE)


def split_documents(stream: str) -> list[tuple[str, dict[str, Any]]]:
    """(text, object) for every non-empty document of a YAML stream, in order.

    A document separator at the start of a line cannot occur inside kustomize's
    output of an object (block scalars there are always indented), so splitting
    the text keeps each object's exact bytes for the bundle.
    """
    documents: list[tuple[str, dict[str, Any]]] = []
    for chunk in _SEPARATOR.split(stream):
        if not chunk.strip():
            continue
        parsed = yaml.load(chunk, Loader=_Loader)
        if isinstance(parsed, dict):
            documents.append((chunk if chunk.endswith("\n") else chunk + "\n", parsed))
    return documents


def load_documents(text: str) -> list[dict[str, Any]]:
    """Every mapping document of a YAML stream, parsed like kustomize output."""
    return [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict)]


def dump_document(obj: dict[str, Any]) -> str:
    """One object as block-style YAML, for objects kfops changed after the build."""
    return yaml.dump(obj, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False,
                     width=1 << 16)
