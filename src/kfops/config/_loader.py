"""Load a platform file: parse, type-check, then check what its values point at."""

from __future__ import annotations

import dataclasses
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

from ._files import (
    PLATFORM_FILE_LIMIT,
    SECRET_FILE_LIMIT,
    FileRefused,
    Kind,
    PathRules,
    allowance_problem,
    allowed_from_environment,
    kfops_cache_dir,
    read_limited,
    size_text,
)
from ._platform import Platform, cross_section_problems
from ._problems import clean_loc, message, yaml_path
from ._types import SecretRef, is_url
from ._yaml import LineMap, Loc, YamlSyntaxError, read_yaml

#: The platform file a command reads when none is named.
DEFAULT_PLATFORM_FILE = Path("platform.yaml")

#: A value `kfops init` leaves for the administrator: "<fill in: what to write>".
PLACEHOLDER = re.compile(r"^<fill in: (?P<what>.*)>$", re.IGNORECASE)


@dataclass(frozen=True)
class LoadedPlatform:
    """A checked platform file, with where it lives and where each value is written."""

    platform: Platform
    path: Path
    lines: LineMap
    allow_outside: bool = False
    """`--allow-paths-outside`: paths in the file may point into any folder (not /dev ...)."""
    warnings: tuple[str, ...] = ()
    """Doubtful but allowed values (an `{env}` name that does not look like a secret's)."""

    @property
    def base_dir(self) -> Path:
        """The folder paths in the file are relative to."""
        return self.path.parent

    def resolve_path(self, value: str) -> Path:
        """A path from the file, made absolute (relative to the file, `~` expanded)."""
        return (self.base_dir / Path(value).expanduser()).resolve()

    def path_rules(self) -> PathRules:
        """Where paths of this file may point (see kfops.config._files)."""
        given = [(self.base_dir / Path(v).expanduser()).resolve()
                 for v in self.platform.spec.allowed_paths
                 if allowance_problem(v, self.base_dir) is None]
        return PathRules(self.base_dir, (*given, *allowed_from_environment(),
                                         kfops_cache_dir().resolve()), self.allow_outside)

    def checked_path(self, value: str, kind: Kind, loc: Loc) -> Path:
        """The resolved path of `value` (a `kind`), or a ConfigError located at `loc`."""
        try:
            return self.path_rules().check(value, kind)
        except FileRefused as error:
            # a FileRefused adds nothing: its message is here
            raise ConfigError([self.problem(loc, str(error))]) from None

    def read_file(self, value: str, limit: int) -> bytes:
        """The bytes of the file `value` names, within the path rules and `limit`.

        Raises FileRefused (also for a file that cannot be read) with a message
        that never holds the file's content.
        """
        target = self.path_rules().check(value, "file")
        try:
            return read_limited(target, limit)
        except OSError as error:
            raise FileRefused(f"cannot read {value} ({target}): {error.strerror or error}") \
                from error

    def problem(self, loc: Loc, text: str) -> ConfigProblem:
        """A problem located at `loc` in this file."""
        return ConfigProblem(self.path.name, self.lines.line_of(loc), yaml_path(loc), text)

    def digest(self) -> str:
        """sha256 of the effective configuration (what it means, not how it is written)."""
        canonical = json.dumps(
            self.platform.model_dump(mode="json", by_alias=True), sort_keys=True
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_platform(path: Path | str, check_references: bool = True,
                  allow_outside: bool = False) -> LoadedPlatform:
    """Read and check a platform file; raise ConfigError listing every problem.

    Commands that need no secret (aks script, check, gpu test) pass
    `check_references=False`, so `{env}`/`{file}` values need not be at hand.
    `allow_outside` lets paths in the file point outside its folder.
    """
    path = Path(path).absolute()
    try:
        data = read_limited(path, PLATFORM_FILE_LIMIT)
        text = data.decode("utf-8")
    except FileNotFoundError as error:
        raise ConfigError([ConfigProblem(
            path.name, None, "", f"not found ({path}); write one with `kfops init`"
        )]) from error
    except FileRefused as error:
        # a FileRefused adds nothing: its message is here
        raise ConfigError([ConfigProblem(path.name, None, "", str(error))]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(path.name, None, "", f"cannot read: {error}")]) from error
    return parse_platform(text, path, check_references, allow_outside)


def parse_platform(text: str, path: Path, check_references: bool = True,
                   allow_outside: bool = False) -> LoadedPlatform:
    """Check platform text as if read from `path` (paths in it are relative to its folder).

    Without `check_references`, `{env}` and `{file}` values are not looked up
    (an edit of the users list needs no connector secret at hand).
    """
    if len(text.encode("utf-8", "surrogatepass")) > PLATFORM_FILE_LIMIT:
        raise ConfigError([ConfigProblem(
            path.name, None, "", f"larger than {size_text(PLATFORM_FILE_LIMIT)}, the most kfops "
                                 "reads from a platform file")])
    try:
        data, lines = read_yaml(text)
    except YamlSyntaxError as error:
        # adds nothing: its message and line are here
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
        # no cause: pydantic's quotes the values (a secret typed in by mistake)
        raise ConfigError(problems) from None
    loaded = LoadedPlatform(platform, path, lines, allow_outside)
    later = [located.at(_loc(p), m) for p, m in cross_section_problems(platform.spec)]
    refs = list(_secret_refs(data, ()))
    later += [loaded.problem(loc, problem) for loc, ref in refs
              if (problem := _ref_problem(ref))]
    later += _allowance_problems(loaded)
    if check_references:
        later += _reference_problems(loaded, refs)
    problems += [p for p in later if not _under_placeholder(p, located, placeholders)]
    if problems:
        raise ConfigError(problems)
    warnings = tuple(str(loaded.problem(loc, _not_secret_like(ref.env)))
                     for loc, ref in _references(refs)
                     if ref.env is not None and not _looks_secret(ref.env))
    return dataclasses.replace(loaded, warnings=warnings)


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


def _reference_problems(loaded: LoadedPlatform, refs: list[tuple[Loc, dict[str, Any]]],
                        ) -> list[ConfigProblem]:
    """Values that name something missing or refused: paths, environment variables, files."""
    problems: list[ConfigProblem] = []
    for loc, value, kind in _paths(loaded):
        if value is None or is_url(value):
            continue
        try:
            loaded.path_rules().check(value, kind)
        except FileRefused as error:
            problems.append(loaded.problem(loc, str(error)))
    for loc, ref in _references(refs):
        problem = _secret_problem(loaded, ref)
        if problem:
            problems.append(loaded.problem(loc, problem))
    return problems


def _paths(loaded: LoadedPlatform) -> list[tuple[Loc, str | None, Kind]]:
    """Every path the render would read: (where, value, file or folder)."""
    spec = loaded.platform.spec
    gpu_source = spec.gpu.enabled and spec.gpu.install == "devicePlugin"
    return [
        (("spec", "release", "source"), spec.release.source, "folder"),
        (("spec", "release", "remoteCache"), spec.release.remote_cache, "cache"),
        (("spec", "metallb", "source"), spec.metallb.source if spec.metallb else None, "file"),
        (("spec", "storage", "nfs", "source"),
         spec.storage.nfs.source if spec.storage.nfs else None, "folder"),
        (("spec", "gpu", "source"), spec.gpu.source if gpu_source else None, "file"),
        (("spec", "karpenter", "crds"), spec.karpenter.crds if spec.karpenter else None,
         "folder"),
        *((("spec", "patches", index, "path"), patch.path, "file")
          for index, patch in enumerate(spec.patches)),
        *((("spec", "extraManifests", index), value,
           "folder" if not is_url(value) and loaded.resolve_path(value).is_dir() else "file")
          for index, value in enumerate(spec.extra_manifests)),
    ]


def _allowance_problems(loaded: LoadedPlatform) -> list[ConfigProblem]:
    problems = []
    for index, value in enumerate(loaded.platform.spec.allowed_paths):
        problem = allowance_problem(value, loaded.base_dir)
        if problem:
            problems.append(loaded.problem(("spec", "allowedPaths", index), problem))
    return problems


def _secret_refs(node: Any, loc: Loc) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """Every `{env}`/`{file}`/`{generate}` mapping in the file, wherever it is written
    (typed fields and free-form settings such as a connector's config alike)."""
    if isinstance(node, dict):
        by_name = set(node) in ({"env"}, {"file"}) and isinstance(next(iter(node.values())), str)
        if by_name or set(node) == {"generate"}:
            yield loc, node
            return
        for key, value in node.items():
            yield from _secret_refs(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _secret_refs(value, (*loc, index))


def _ref_problem(ref: dict[str, Any]) -> str | None:
    """What is wrong with a reference itself (before anything it names is looked up)."""
    if "generate" in ref:
        return GENERATE_REFUSED
    try:
        SecretRef.model_validate(ref)
    except PydanticValidationError as error:
        return str(error.errors()[0]["msg"])
    return None


def _references(refs: list[tuple[Loc, dict[str, Any]]]) -> Iterator[tuple[Loc, SecretRef]]:
    """The well-formed `{env}` and `{file}` references among `refs`."""
    for loc, ref in refs:
        if _ref_problem(ref) is None:
            yield loc, SecretRef.model_validate(ref)


#: Every secret the file can name today is issued by someone else (an identity provider,
#: a DNS provider); values kfops can make (session and database secrets) it makes itself.
GENERATE_REFUSED = (
    "{generate} cannot make this value: it is issued by the provider; use {env: NAME} or "
    "{file: path}"
)

#: Words in the name of a variable that holds a secret (GITHUB_CLIENT_SECRET, S3_ACCESS_KEY).
_SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD", "PASSWD", "PASS", "KEY", "CREDENTIAL", "AUTH",
                 "PRIVATE", "CERT")


def _looks_secret(name: str) -> bool:
    return any(word in name.upper() for word in _SECRET_WORDS)


def _not_secret_like(name: str) -> str:
    return (f"{{env: {name}}} does not look like a secret's variable (its name has none of "
            f"{', '.join(_SECRET_WORDS)}), yet its value goes into a cluster Secret; check "
            "that this is meant")


def _secret_problem(loaded: LoadedPlatform, ref: SecretRef) -> str | None:
    if ref.env is not None and ref.env not in os.environ:
        return f"environment variable {ref.env} is not set"
    if ref.file is not None:
        try:
            target = loaded.path_rules().check(ref.file, "file")
            if target.stat().st_size > SECRET_FILE_LIMIT:
                return (f"{ref.file} is larger than {size_text(SECRET_FILE_LIMIT)}, the most a "
                        "Kubernetes Secret holds")
            with target.open("rb"):
                pass
        except FileRefused as error:
            return str(error)
        except OSError as error:
            return f"cannot read {ref.file} ({loaded.resolve_path(ref.file)}): " \
                   f"{error.strerror or error}"
    return None
