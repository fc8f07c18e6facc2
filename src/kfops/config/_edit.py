"""Round-trip edits of the platform file: comments, key order and layout are kept.

An edit changes the YAML tree and the result is checked as a whole platform
file before the file is replaced (atomically, keeping its mode). An edit that
adds a problem is refused and the file is left as it was. Problems the file
already had (a starter's placeholders, no one who could log in yet) do not
block an edit that leaves them as they were or mends them: the first user of
a fresh file is added with the very command that fixes it.
Edits are serialised: each holds the file's lock (`_lock`) from reading the
file to replacing it, so two commands at once never lose either's change.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from kfops.errors import ConfigError, ConfigProblem, InputError

from ._files import PLATFORM_FILE_LIMIT, FileRefused, read_limited
from ._loader import LoadedPlatform, parse_platform
from ._lock import WaitNotice, exclusive
from ._yaml import YamlSyntaxError, read_yaml

Change = Callable[[CommentedMap], None]
"""Edits the file's tree in place; raises InputError when the change does not apply."""


@dataclass(frozen=True)
class Edited:
    """The platform file after an edit: checked, or with problems it had before the edit."""

    loaded: LoadedPlatform | None
    """The edited platform, when the file has no problem left."""
    remaining: tuple[ConfigProblem, ...]
    """Problems the file already had and still has (placeholders to fill, for example)."""

    def ready(self) -> LoadedPlatform:
        """The edited platform; ConfigError naming what is still to fix in the file."""
        if self.loaded is None:
            raise ConfigError(list(self.remaining))
        return self.loaded


def edit_platform(path: Path, change: Change, *, wait: bool = True,
                  on_wait: WaitNotice | None = None) -> Edited:
    """Apply `change` to the platform file, check the result, and write it back.

    The file is read, changed and replaced under its lock; another editor is
    waited for (`on_wait` is told who it is after a second) unless `wait` is
    False, which raises Busy naming it.
    """
    path = Path(path).absolute()
    with exclusive(path, wait=wait, on_wait=on_wait):
        return _edit(path, change)


def _edit(path: Path, change: Change) -> Edited:
    try:
        text = read_limited(path, PLATFORM_FILE_LIMIT).decode("utf-8")
    except (OSError, UnicodeDecodeError, FileRefused) as error:
        raise ConfigError([ConfigProblem(path.name, None, "", f"cannot read: {error}")]) from error
    _readable(text, path)
    _, before = _check(text, path)
    try:
        yaml, tree = _load(text)
    except YAMLError:
        raise ConfigError(before) from None  # unreadable to ruamel: report it as it is
    change(tree)
    buffer = io.StringIO()
    yaml.dump(tree, buffer)
    new_text = buffer.getvalue()
    loaded, after = _check(new_text, path)
    known = {(p.path, p.message) for p in before}
    added = [p for p in after if (p.path, p.message) not in known]
    if added:
        raise ConfigError(added)
    if new_text != text:
        _replace(path, new_text)
    return Edited(loaded, tuple(after))


def _readable(text: str, path: Path) -> None:
    """ConfigError when the bounded reader refuses `text`, before ruamel ever reads it.

    ruamel has no limits (nesting, aliases); a file the bounded reader takes is
    safe for it. Problems of the content itself are left to the check of the result.
    """
    try:
        read_yaml(text)
    except YamlSyntaxError as error:
        # adds nothing: its message and line are here
        raise ConfigError([ConfigProblem(path.name, error.line, "", str(error))]) from None


def _check(text: str, path: Path) -> tuple[LoadedPlatform | None, list[ConfigProblem]]:
    try:
        return parse_platform(text, path, check_references=False), []
    except ConfigError as error:
        return None, error.problems


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
    except BaseException:  # any exit (Ctrl-C too) leaves no temporary file; re-raised
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
