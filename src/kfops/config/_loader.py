"""Load a platform file: parse, type-check, then check what its values point at."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from kfops.errors import ConfigError, ConfigProblem

from ._platform import Platform, cross_section_problems
from ._problems import clean_loc, message, yaml_path
from ._types import SecretRef, is_url
from ._yaml import LineMap, Loc, YamlSyntaxError, read_yaml

#: A value `kfops init` leaves for the administrator: "<fill in: what to write>".
PLACEHOLDER = re.compile(r"^<fill in: (?P<what>.*)>$", re.IGNORECASE)


@dataclass(frozen=True)
class LoadedPlatform:
    """A checked platform file, with where it lives and where each value is written."""

    platform: Platform
    path: Path
    lines: LineMap

    @property
    def base_dir(self) -> Path:
        """The folder paths in the file are relative to."""
        return self.path.parent

    def resolve_path(self, value: str) -> Path:
        """A path from the file, made absolute (relative to the file, `~` expanded)."""
        return (self.base_dir / Path(value).expanduser()).resolve()

    def problem(self, loc: Loc, text: str) -> ConfigProblem:
        """A problem located at `loc` in this file."""
        return ConfigProblem(self.path.name, self.lines.line_of(loc), yaml_path(loc), text)

    def digest(self) -> str:
        """sha256 of the effective configuration (what it means, not how it is written)."""
        canonical = json.dumps(
            self.platform.model_dump(mode="json", by_alias=True), sort_keys=True
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_platform(path: Path | str, check_references: bool = True) -> LoadedPlatform:
    """Read and check a platform file; raise ConfigError listing every problem.

    Commands that need no secret (aks script, check, gpu test) pass
    `check_references=False`, so `{env}`/`{file}` values need not be at hand.
    """
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(
            path.name, None, "", f"not found ({path}); write one with `kfops init`"
        )]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(path.name, None, "", f"cannot read: {error}")]) from None
    return parse_platform(text, path, check_references)


def parse_platform(text: str, path: Path, check_references: bool = True) -> LoadedPlatform:
    """Check platform text as if read from `path` (paths in it are relative to its folder).

    Without `check_references`, `{env}` and `{file}` values are not looked up
    (an edit of the users list needs no connector secret at hand).
    """
    try:
        data, lines = read_yaml(text)
    except YamlSyntaxError as error:
        raise ConfigError([ConfigProblem(path.name, error.line, "", str(error))]) from None
    located = _Locator(path.name, lines)
    if not isinstance(data, dict):
        raise ConfigError([located.at((), "expected a mapping with apiVersion, kind and spec")])
    placeholders = dict(_placeholders(data, ()))
    problems = [located.at(loc, f"placeholder left in: fill in {what}")
                for loc, what in placeholders.items()]
    try:
        platform = Platform.model_validate(data)
    except PydanticValidationError as error:
        problems += _model_problems(error, located, set(placeholders))
        raise ConfigError(problems) from None
    loaded = LoadedPlatform(platform, path, lines)
    later = [located.at(_loc(p), m) for p, m in cross_section_problems(platform.spec)]
    if check_references:
        later += _reference_problems(loaded, data)
    problems += [p for p in later if not _under_placeholder(p, located, placeholders)]
    if problems:
        raise ConfigError(problems)
    return loaded


def _under_placeholder(
    problem: ConfigProblem, located: _Locator, placeholders: dict[Loc, str]
) -> bool:
    return any(problem.path.startswith(yaml_path(loc)) for loc in placeholders)


@dataclass(frozen=True)
class _Locator:
    file: str
    lines: LineMap

    def at(self, loc: Loc, text: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.lines.line_of(loc), yaml_path(loc), text)


def _loc(dotted: str) -> Loc:
    parts: list[str | int] = []
    for piece in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return tuple(parts)


def _placeholders(node: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _placeholders(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _placeholders(value, (*loc, index))
    elif isinstance(node, str) and (match := PLACEHOLDER.match(node.strip())):
        yield loc, match.group("what")


def _model_problems(
    error: PydanticValidationError, located: _Locator, skip: set[Loc]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for detail in error.errors():
        loc, about_key = clean_loc(detail["loc"])
        if any(loc[: len(s)] == s for s in skip):
            continue
        text = message(detail, Platform)
        problems.append(located.at(loc, f"invalid key: {text}" if about_key else text))
    return sorted(set(problems))


def _reference_problems(loaded: LoadedPlatform, data: dict[str, Any]) -> list[ConfigProblem]:
    """Values that name something missing: paths, environment variables, files."""
    spec = loaded.platform.spec
    problems: list[ConfigProblem] = []
    sources: list[tuple[Loc, str | None, bool]] = [
        (("spec", "release", "source"), spec.release.source, True),
        (("spec", "metallb", "source"), spec.metallb.source if spec.metallb else None, True),
        (("spec", "storage", "nfs", "source"),
         spec.storage.nfs.source if spec.storage.nfs else None, True),
        (("spec", "gpu", "source"), spec.gpu.source,
         spec.gpu.enabled and spec.gpu.install == "devicePlugin"),
    ]
    for loc, value, used in sources:
        if used and value and not is_url(value) and not loaded.resolve_path(value).exists():
            problems.append(loaded.problem(
                loc, f"{value} does not exist (looked for {loaded.resolve_path(value)})"
            ))
    for loc, ref in _secret_refs(data, ()):
        problem = _secret_problem(loaded, ref)
        if problem:
            problems.append(loaded.problem(loc, problem))
    return problems


def _secret_refs(node: Any, loc: Loc) -> Iterator[tuple[Loc, SecretRef]]:
    """Every `{env}`/`{file}` reference in the file, wherever it is written."""
    if isinstance(node, dict):
        if set(node) in ({"env"}, {"file"}) and all(isinstance(v, str) for v in node.values()):
            yield loc, SecretRef.model_validate(node)
            return
        for key, value in node.items():
            yield from _secret_refs(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _secret_refs(value, (*loc, index))


def _secret_problem(loaded: LoadedPlatform, ref: SecretRef) -> str | None:
    if ref.env is not None and ref.env not in os.environ:
        return f"environment variable {ref.env} is not set"
    if ref.file is not None:
        target = loaded.resolve_path(ref.file)
        try:
            with target.open("rb"):
                pass
        except OSError as error:
            return f"cannot read {ref.file} ({target}): {error.strerror or error}"
    return None
