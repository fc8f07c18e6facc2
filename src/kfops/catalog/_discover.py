"""Read a release kfops does not know from its own example/kustomization.yaml."""

from __future__ import annotations

import posixpath
from pathlib import Path

import yaml

from kfops.errors import ReleaseSourceError

from ._model import Component, ReleaseCatalog

UNRECOGNISED = "unrecognised"


def discover(version: str, root: Path, template: ReleaseCatalog) -> ReleaseCatalog:
    """A catalog for `root` built from its example/, recognising paths like `template`'s.

    Each active path of example/ goes to the component of `template` whose
    paths share its folder (the application or common service); paths no
    component claims are kept as the always-installed component
    `unrecognised` and listed so the render can warn about them.
    """
    paths = example_paths(root)
    claimed: dict[str, list[str]] = {}
    unrecognised: list[str] = []
    for path in paths:
        owner = _owner(path, template)
        if owner is None:
            unrecognised.append(path)
        else:
            claimed.setdefault(owner, []).append(path)
    components = [
        Component(c.name, c.title, tuple(claimed[c.name]), c.kind, True,
                  tuple((n, why) for n, why in c.requires if n in claimed), c.namespace)
        for c in template.components if c.name in claimed
    ]
    components += [
        Component(c.name, c.title, c.paths, c.kind, False, c.requires, c.namespace, c.variants)
        for c in template.components
        if c.name not in claimed and c.kind == "optional" and _exists(root, c.paths)
    ]
    if unrecognised:
        components.append(Component(UNRECOGNISED, "Unrecognised example/ paths",
                                    tuple(unrecognised), kind="core"))
    names = {c.name for c in components}
    return ReleaseCatalog(
        version=version, components=tuple(components),
        tested_kubernetes=template.tested_kubernetes,
        supported_kubernetes=template.supported_kubernetes,
        ownership=tuple(r for r in template.ownership if r.component in names),
        known=False, unrecognised=tuple(unrecognised),
    )


def example_paths(root: Path) -> list[str]:
    """The active `resources` of example/kustomization.yaml, relative to the release root."""
    file = root / "example" / "kustomization.yaml"
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ReleaseSourceError(f"cannot read {file}: {error}") from error
    entries = (document or {}).get("resources") or []
    return [posixpath.normpath(posixpath.join("example", e)) for e in entries if isinstance(e, str)]


def _owner(path: str, template: ReleaseCatalog) -> str | None:
    best: tuple[int, str] | None = None
    for component in template.components:
        for known in (*component.paths, *(p for _, ps in component.variants for p in ps)):
            shared = _shared_depth(path, known)
            if shared >= 2 and (best is None or shared > best[0]):
                best = (shared, component.name)
    return best[1] if best else None


def _shared_depth(left: str, right: str) -> int:
    depth = 0
    for a, b in zip(left.split("/"), right.split("/"), strict=False):
        if a != b:
            break
        depth += 1
    return depth


def _exists(root: Path, paths: tuple[str, ...]) -> bool:
    return all((root / p).is_dir() for p in paths)
