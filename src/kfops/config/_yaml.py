"""Read a human-written YAML file (YAML 1.2) into plain data plus the line of every node.

The file may come from a pull request, so reading it is bounded: libyaml's
parser (C, iterative) produces events and this module composes them into data
itself, refusing as soon as a limit is passed instead of after the damage:

- at most :data:`MAX_NODES` nodes, an alias counting as every node it repeats
  (so "billion laughs" stops after 100,000, not after gigabytes);
- at most :data:`MAX_DEPTH` levels of nesting;
- only the tags of YAML 1.2's core schema (`!!str`, `!!int`, `!!float`,
  `!!bool`, `!!null`, `!!map`, `!!seq`): `!!python/object` and any local tag
  are refused, never constructed;
- no merge keys (`<<`): they are not YAML 1.2, and they hide where a value is written;
- no duplicate keys and no keys that are not scalars.

Plain scalars are resolved by YAML 1.2's core schema (`yes` and `on` stay strings).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Loc = tuple[str | int, ...]

#: The most nodes a platform file may hold, an alias counting as the nodes it repeats.
MAX_NODES = 100_000
#: The deepest nesting of mappings and lists (the model itself is at most ~10 deep).
MAX_DEPTH = 64

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null")}
_COLLECTION_TAGS = {"mapping": f"{_CORE}map", "sequence": f"{_CORE}seq"}
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
         "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCTAL = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INFINITY = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")


@dataclass
class LineMap:
    """1-based line of each node, addressed by its location (keys and list indices)."""

    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """Line of `loc`, or of its nearest ancestor that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


class YamlSyntaxError(Exception):
    """The text is not a single YAML 1.2 mapping document, or passes a limit."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def read_yaml(text: str) -> tuple[Any, LineMap]:
    """Parse `text` with YAML 1.2 rules; return plain Python data and its line map."""
    composer = _Composer()
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            composer.feed(event)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(part for part in (error.context, error.problem) if part)
        # the cause adds nothing: its problem and line are here
        raise YamlSyntaxError(f"YAML syntax: {message}", line) from None
    except yaml.YAMLError as error:
        # the cause adds nothing: its message is here
        raise YamlSyntaxError(f"YAML syntax: {error}", None) from None
    return composer.result()


@dataclass
class _Open:
    """A mapping or list being composed."""

    value: dict[str, Any] | list[Any]
    loc: Loc
    anchor: str | None
    nodes_before: int
    key: str | None = None
    key_line: int = 0


@dataclass
class _Anchored:
    value: Any
    nodes: int


class _Composer:
    """Builds data from parser events, enforcing the limits as it goes."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        self.anchors: dict[str, _Anchored] = {}
        self.nodes = 0
        self.documents: list[Any] = []
        self.lines = LineMap()

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self._document_start(event)
        elif isinstance(event, yaml.ScalarEvent):
            self._node(event, _scalar(event), 1)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._open(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self._close()

    def result(self) -> tuple[Any, LineMap]:
        documents = [d for d in self.documents if d is not None]
        if len(documents) != 1:
            raise YamlSyntaxError(f"expected one YAML document, found {len(documents)}", None)
        self.lines.lines.setdefault((), 1)
        return documents[0], self.lines

    def _document_start(self, event: yaml.DocumentStartEvent) -> None:
        if event.version is not None and event.version != (1, 2):
            raise YamlSyntaxError(
                "only YAML 1.2 is read; remove the %YAML "
                f"{event.version[0]}.{event.version[1]} directive", _line(event))

    def _open(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        kind = "mapping" if isinstance(event, yaml.MappingStartEvent) else "sequence"
        if event.tag not in (None, "!", _COLLECTION_TAGS[kind]):
            raise _tag_refused(event.tag, event)
        if len(self.stack) >= MAX_DEPTH:
            raise YamlSyntaxError(
                f"nested more than {MAX_DEPTH} levels deep; a platform file needs about 10",
                _line(event))
        value: dict[str, Any] | list[Any] = {} if kind == "mapping" else []
        loc = self._place(event, value, scalar=False)
        self._count(1, event)
        self.stack.append(_Open(value, loc, event.anchor, self.nodes - 1))

    def _close(self) -> None:
        done = self.stack.pop()
        if done.anchor is not None:
            self.anchors[done.anchor] = _Anchored(done.value, self.nodes - done.nodes_before)

    def _node(self, event: yaml.ScalarEvent, value: Any, nodes: int) -> None:
        if self._wants_key():
            self._key(event)
            return
        self._place(event, value, scalar=True)
        self._count(nodes, event)
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchored(value, nodes)

    def _alias(self, event: yaml.AliasEvent) -> None:
        anchored = self.anchors.get(str(event.anchor))
        if anchored is None:
            raise YamlSyntaxError(
                f"YAML syntax: alias *{event.anchor} names no anchor closed before it",
                _line(event))
        if self._wants_key():
            raise YamlSyntaxError("YAML syntax: an alias cannot be a key", _line(event))
        self._count(anchored.nodes, event)
        self._place(event, copy.deepcopy(anchored.value), scalar=True)

    def _count(self, nodes: int, event: yaml.Event) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise YamlSyntaxError(
                f"more than {MAX_NODES:,} values (aliases count as every value they repeat)",
                _line(event))

    def _wants_key(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return top is not None and isinstance(top.value, dict) and top.key is None

    def _key(self, event: yaml.ScalarEvent) -> None:
        top = self.stack[-1]
        assert isinstance(top.value, dict)
        if event.tag not in (None, "!", f"{_CORE}str"):
            raise _tag_refused(event.tag, event)
        if event.value == "<<" and event.style in ("", None):
            raise YamlSyntaxError(
                "merge keys (<<) are not read: write the values out (YAML 1.2 has no merge key)",
                _line(event))
        if event.value in top.value:
            raise YamlSyntaxError(f'YAML syntax: duplicate key "{event.value}"', _line(event))
        self._count(1, event)
        top.key, top.key_line = event.value, _line(event)

    def _place(self, event: yaml.Event, value: Any, scalar: bool) -> Loc:
        """Put a value into the open collection (or make it a document); return its loc."""
        if not self.stack:
            if value is not None and any(d is not None for d in self.documents):
                raise YamlSyntaxError("expected one YAML document, found more", _line(event))
            self.documents.append(value)
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            loc: Loc = (*top.loc, len(top.value))
            top.value.append(value)
            self.lines.lines[loc] = _line(event)
            return loc
        if top.key is None:  # a mapping or list where a key belongs
            raise YamlSyntaxError("YAML syntax: keys must be plain strings, not mappings or lists",
                                  _line(event))
        loc = (*top.loc, top.key)
        top.value[top.key] = value
        self.lines.lines[loc] = _line(event) if scalar else top.key_line
        top.key = None
        return loc


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return int(mark.line) + 1 if mark is not None else 0


def _tag_refused(tag: str | None, event: yaml.Event) -> YamlSyntaxError:
    return YamlSyntaxError(
        f"tag {tag} is not allowed: a platform file holds plain strings, numbers, booleans, "
        "lists and mappings", _line(event))


def _scalar(event: yaml.ScalarEvent) -> Any:
    """The value of a scalar: core-schema resolution for plain ones, else what its tag says."""
    text: str = event.value
    tag = event.tag
    if tag in (None, "!"):
        return _resolve_plain(text) if event.style in ("", None) and tag is None else text
    if tag not in _SCALAR_TAGS:
        raise _tag_refused(tag, event)
    if tag == f"{_CORE}str":
        return text
    value = _resolve_plain(text)
    wanted = {"int": int, "float": float, "bool": bool, "null": type(None)}[tag.rsplit(":", 1)[1]]
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not wanted:
        raise YamlSyntaxError(f"{text!r} is not a valid {tag.rsplit(':', 1)[1]}", _line(event))
    return value


#: First characters of every plain scalar that resolves to something other than a string.
_NOT_ONLY_STRINGS = frozenset("~nNtTfF+-.0123456789")


def _resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema: null, booleans, integers, floats; everything else a string."""
    if text and text[0] not in _NOT_ONLY_STRINGS:
        return text  # most values: no pattern can match
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    for pattern, base in ((_INT, 10), (_OCTAL, 8), (_HEX, 16)):
        if pattern.match(text):
            return int(text[2:] if base != 10 else text, base)
    if _FLOAT.match(text):
        return float(text)
    if _INFINITY.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text

