"""Round-trip edits of the platform file: comments, key order and layout are kept.

An edit changes the YAML tree, the result is checked as a whole platform file,
and only then is the file replaced (atomically, keeping its mode): a change
that would make the file invalid is refused and the file is left as it was.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from kfops.errors import ConfigError, ConfigProblem, InputError

from ._files import PLATFORM_FILE_LIMIT, FileRefused, read_limited
from ._loader import LoadedPlatform, parse_platform

Change = Callable[[CommentedMap], None]
"""Edits the file's tree in place; raises InputError when the change does not apply."""


def edit_platform(path: Path, change: Change) -> LoadedPlatform:
    """Apply `change` to the platform file, check the result, and write it back."""
    path = Path(path).absolute()
    try:
        text = read_limited(path, PLATFORM_FILE_LIMIT).decode("utf-8")
    except (OSError, UnicodeDecodeError, FileRefused) as error:
        raise ConfigError([ConfigProblem(path.name, None, "", f"cannot read: {error}")]) from None
    # An invalid file is reported as it is, before any change (and before ruamel reads it:
    # the bounded reader refuses what would exhaust ruamel, such as deep nesting).
    parse_platform(text, path, check_references=False)
    yaml, tree = _load(text)
    change(tree)
    buffer = io.StringIO()
    yaml.dump(tree, buffer)
    new_text = buffer.getvalue()
    loaded = parse_platform(new_text, path, check_references=False)
    if new_text != text:
        _replace(path, new_text)
    return loaded


def _load(text: str) -> tuple[YAML, CommentedMap]:
    try:
        _, indent, sequence_offset = load_yaml_guess_indent(text)
    except YAMLError:
        indent, sequence_offset = 2, 0
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the user wrote
    yaml.brace_single_entry_mapping_in_flow_sequence = True
    offset = sequence_offset or 0
    yaml.indent(mapping=indent or 2, sequence=(indent or 2) + offset, offset=offset)
    tree = yaml.load(text)
    if not isinstance(tree, CommentedMap):
        raise InputError("the platform file is not a YAML mapping")
    return yaml, tree


def _replace(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temp).chmod(mode)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def mapping_at(tree: CommentedMap, *keys: str) -> CommentedMap:
    """The mapping at `keys` below `tree`, created (empty) where missing."""
    node = tree
    for key in keys:
        child = node.get(key)
        if child is None:
            child = CommentedMap()
            node[key] = child
        if not isinstance(child, CommentedMap):
            raise InputError(f"{'.'.join(keys)}: expected a mapping in the platform file")
        node = child
    return node


def sequence_at(tree: CommentedMap, *keys: str) -> CommentedSeq:
    """The list at `keys` below `tree`, created (empty) where missing."""
    parent = mapping_at(tree, *keys[:-1])
    child = parent.get(keys[-1])
    if child is None:
        child = CommentedSeq()
        parent[keys[-1]] = child
    if not isinstance(child, CommentedSeq):
        raise InputError(f"{'.'.join(keys)}: expected a list in the platform file")
    return child


def entry_index(entries: CommentedSeq, key: str, value: str) -> int | None:
    """Index of the mapping in `entries` whose `key` equals `value` (case-insensitively)."""
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and str(entry.get(key, "")).lower() == value.lower():
            return index
    return None


def new_mapping(values: dict[str, Any]) -> CommentedMap:
    """A block-style mapping for the file (values given as plain data)."""
    mapping = CommentedMap()
    for key, value in values.items():
        mapping[key] = _node(value)
    return mapping


def _node(value: Any) -> Any:
    if isinstance(value, dict):
        return new_mapping(value)
    if isinstance(value, list):
        return CommentedSeq(_node(v) for v in value)
    return value
