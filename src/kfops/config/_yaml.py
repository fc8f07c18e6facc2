"""Read a human-written YAML file (YAML 1.2) into plain data plus the line of every node."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

Loc = tuple[str | int, ...]


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
    """The text is not a single YAML 1.2 mapping document."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def read_yaml(text: str) -> tuple[Any, LineMap]:
    """Parse `text` with YAML 1.2 rules; return plain Python data and its line map."""
    if re.search(r"^%YAML\s+1\.[01]\b", text, re.MULTILINE):
        raise YamlSyntaxError("only YAML 1.2 is read; remove the %YAML 1.1 directive", 1)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(part for part in (error.context, error.problem) if part)
        raise YamlSyntaxError(f"YAML syntax: {message}", line) from None
    documents = [d for d in documents if d is not None]
    if len(documents) != 1:
        raise YamlSyntaxError(f"expected one YAML document, found {len(documents)}", None)
    lines = LineMap()
    data = _plain(documents[0], (), lines)
    lines.lines.setdefault((), 1)
    return data, lines


def _plain(node: Any, loc: Loc, lines: LineMap) -> Any:
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key, value in node.items():
            child = (*loc, str(key))
            key_line, _ = node.lc.key(key)
            value_line, _ = node.lc.value(key)
            lines.lines[child] = (value_line if _is_scalar(value) else key_line) + 1
            result[str(key)] = _plain(value, child, lines)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, _ = node.lc.item(index)
            lines.lines[(*loc, index)] = line + 1
            items.append(_plain(value, (*loc, index), lines))
        return items
    return _scalar(node)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, CommentedMap | CommentedSeq)


def _scalar(value: Any) -> Any:
    """ruamel's scalar subclasses as the plain types pydantic's strict mode expects."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat() if not isinstance(value, datetime.datetime) else value
    return value
