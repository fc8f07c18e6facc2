"""Repairs of known upstream defects, found by their pattern and made in kfops's overlay.

Each repair returns kustomize `patches` entries for the unit overlay, so the
upstream files stay untouched and the repair shows in the generated overlay.
A repair is applied wherever its pattern is found in the kustomizations a
unit builds, in every release (catalogued or read from its example/).

Parameter replacements: older kustomizations (v1.10's example profile,
`common/user-namespace/base`) feed a `configMapGenerator` from a params.env
and copy its values with `replacements` that select their targets by a name
that is itself a variable (`$(profile-name)`). kustomize 5.8 no longer
matches that selector and leaves the variables in, an invalid name. The
values are read from the generator and patched in directly, and the helper
ConfigMap, which has no namespace and only fed those replacements, is left out.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from kfops.errors import RenderError

_KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def repair_patches(release: Path, path: str) -> list[dict[str, Any]]:
    """The overlay patches that repair known defects in the kustomizations `path` builds."""
    patches: list[dict[str, Any]] = []
    for folder, kustomization in _kustomizations(release, path):
        patches += _parameter_replacements(release / folder, kustomization)
    return patches


def _kustomizations(release: Path, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(folder, kustomization) of `path` and of every local folder it builds on."""
    seen: set[str] = set()
    pending = [posixpath.normpath(path)]
    while pending:
        folder = pending.pop()
        if folder in seen or folder.startswith(".."):
            continue
        seen.add(folder)
        kustomization = _read_kustomization(release / folder)
        if kustomization is None:
            continue
        yield folder, kustomization
        for entry in _references(kustomization):
            if "://" not in entry and not entry.startswith(("github.com/", "git@")):
                pending.append(posixpath.normpath(posixpath.join(folder, entry)))


def _read_kustomization(folder: Path) -> dict[str, Any] | None:
    for name in _KUSTOMIZATION_FILES:
        file = folder / name
        if file.is_file():
            try:
                document = yaml.load(file.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
            except (OSError, yaml.YAMLError):
                return None  # kustomize reports it, with its own words, when it builds
            return document if isinstance(document, dict) else None
    return None


def _references(kustomization: dict[str, Any]) -> list[str]:
    return [entry for key in ("resources", "bases", "components")
            for entry in _list(kustomization.get(key)) if isinstance(entry, str)]


def _parameter_replacements(folder: Path, kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """Patches for replacements whose targets are selected by a `$(variable)` name."""
    generators = {str(g.get("name")): g for g in _mappings(kustomization.get("configMapGenerator"))}
    operations: dict[tuple[tuple[str, str], ...], list[tuple[str, str]]] = {}
    repaired: set[str] = set()
    for replacement in _mappings(kustomization.get("replacements")):
        source = replacement.get("source")
        source = source if isinstance(source, dict) else {}
        generator = generators.get(str(source.get("name")))
        field = str(source.get("fieldPath", ""))
        targets = [t for t in _mappings(replacement.get("targets"))
                   if isinstance(t.get("select"), dict) and "$(" in str(t["select"].get("name"))]
        if source.get("kind") != "ConfigMap" or generator is None or \
                not field.startswith("data.") or not targets:
            continue
        value = _generated_values(folder, generator).get(field.removeprefix("data."))
        if value is None:
            raise RenderError(f"{folder}: the ConfigMap generator {generator.get('name')} has no "
                              f"{field.removeprefix('data.')}, which its replacements need")
        for target in targets:
            selector = tuple(sorted((k, str(v)) for k, v in target["select"].items()
                                    if k in ("group", "version", "kind", "name")))
            for path in _list(target.get("fieldPaths")):
                operations.setdefault(selector, []).append(
                    ("/" + str(path).replace(".", "/"), value))
        repaired.add(str(generator.get("name")))
    patches = [{"target": _target(dict(selector)), "patch": _ops(ops)}
               for selector, ops in operations.items()]
    namespaced = bool(kustomization.get("namespace"))
    for name in sorted(repaired):
        if not namespaced and not (generators[name].get("namespace")):
            patches.append(_left_out(name))
    return patches


def _list(value: Any) -> list[Any]:
    """A kustomization list (kustomize reports anything else itself, when it builds)."""
    return value if isinstance(value, list) else []


def _mappings(value: Any) -> list[dict[str, Any]]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _generated_values(folder: Path, generator: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    envs = [*(generator.get("envs") or []), *([generator["env"]] if generator.get("env") else [])]
    for env in envs:
        values.update(_env_file(folder / str(env)))
    for literal in generator.get("literals") or []:
        key, _, value = str(literal).partition("=")
        values[key.strip()] = value.strip()
    return values


def _env_file(file: Path) -> dict[str, str]:
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise RenderError(f"cannot read {file}: {error}") from error
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _target(selector: dict[str, str]) -> dict[str, str]:
    """A patch target; the name is a regular expression to kustomize, so `$(...)` is escaped."""
    target = dict(selector)
    if "name" in target:
        target["name"] = "".join("\\" + c if c in "$()." else c for c in target["name"])
    return target


def _ops(operations: list[tuple[str, str]]) -> str:
    # JSON-quoted values stay strings whatever they hold (YAML reads JSON).
    return "".join(f"- op: replace\n  path: {where}\n  value: {json.dumps(value)}\n"
                   for where, value in operations)


def _left_out(name: str) -> dict[str, Any]:
    return {"target": {"version": "v1", "kind": "ConfigMap",
                       "name": f"^{name}(-[a-z0-9]+)?$"},
            "patch": "$patch: delete\napiVersion: v1\nkind: ConfigMap\n"
                     f"metadata:\n  name: {name}\n"}
