"""`spec.extraManifests`: the administrator's own objects, added to the bundle like kfops's.

Each object joins the component `extraManifests`, so it is labelled, laid out in its
stage (CRDs in 00-crds, Namespaces in 10-namespaces, the rest in 30-platform),
validated, inventoried and pruned like every rendered object.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kfops.config import LoadedPlatform, is_url
from kfops.errors import ConfigError, InputError, RenderError
from kfops.objects import describe

from ._contributions import EditableBundle, Phase, RenderContext
from ._sources import SourceFetcher

COMPONENT = "extraManifests"
#: Files of a folder that hold manifests (as `kubectl apply -f DIR` reads them).
_SUFFIXES = (".yaml", ".yml", ".json")


class ExtraManifests:
    """Adds the objects of every file, folder or URL in `spec.extraManifests`."""

    name = "extra-manifests"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Read each entry and add its objects; a collision names both sides."""
        entries = context.loaded.platform.spec.extra_manifests
        for index, entry in enumerate(entries):
            for origin, obj in _objects(context, index, entry):
                clash = bundle.find(str(obj.get("kind")), _name(obj),
                                    _namespace(obj) or None)
                if clash is not None:
                    raise ConfigError([context.loaded.problem(("spec", "extraManifests", index), (
                        f"{origin}: {describe(obj)} is already in the bundle (component "
                        f"{clash.component}); change it with spec.patches instead, or give "
                        "yours another name"))])
                bundle.add(obj, COMPONENT, "spec.extraManifests")


def _objects(context: RenderContext, index: int,
             entry: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where it came from, object) for every object `entry` holds, checked for shape."""
    for source in manifest_files(context.loaded, index, entry):
        for number, document in enumerate(_documents(context, index, source), start=1):
            where = f"{source} (document {number})"
            for obj in _items(document):
                _check_shape(context.loaded, index, where, obj)
                yield where, obj


def manifest_files(loaded: LoadedPlatform, index: int, entry: str) -> list[str]:
    """The manifest files of `spec.extraManifests[index]`, as values a SourceFetcher reads:
    the entry itself (a file or URL), or each file below the folder it names, sorted."""
    if is_url(entry):
        return [entry]
    path = loaded.checked_path(entry, "folder" if loaded.resolve_path(entry).is_dir()
                               else "file", ("spec", "extraManifests", index))
    if not path.is_dir():
        return [entry]
    found = sorted(p.relative_to(path).as_posix() for p in path.rglob("*")
                   if p.is_file() and p.suffix in _SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not found:
        raise ConfigError([loaded.problem(("spec", "extraManifests", index), (
            f"{entry} holds no manifest ({', '.join(_SUFFIXES)} files)"))])
    return [str(Path(entry) / name) for name in found]


def _documents(context: RenderContext, index: int, source: str) -> list[dict[str, Any]]:
    fetcher: SourceFetcher = context.sources
    try:
        return fetcher.documents(source)
    except RenderError as error:  # a URL that is not in the cache while offline
        raise ConfigError([context.loaded.problem(("spec", "extraManifests", index),
                                                  str(error))]) from None
    except InputError as error:  # does not parse (file and line), cannot be read
        raise ConfigError([context.loaded.problem(("spec", "extraManifests", index),
                                                  str(error))]) from None


def _items(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A `v1 List` stands for its items, as kubectl reads it."""
    if document.get("apiVersion") == "v1" and document.get("kind") == "List":
        items = document.get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return [document]


def _check_shape(loaded: LoadedPlatform, index: int, where: str, obj: dict[str, Any]) -> None:
    problem = None
    if obj.get("apiVersion") == "kustomize.config.k8s.io/v1beta1":
        problem = (f"{where} is a kustomization: kfops reads plain manifests; build it with "
                   "`kubectl kustomize` into a file, or name its resources")
    elif not isinstance(obj.get("apiVersion"), str) or not isinstance(obj.get("kind"), str):
        problem = f"{where} is not a Kubernetes object (it needs apiVersion and kind)"
    elif not _name(obj):
        problem = f"{where}: {obj['kind']} has no metadata.name"
    if problem:
        raise ConfigError([loaded.problem(("spec", "extraManifests", index), problem)])


def _name(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def _namespace(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return namespace if isinstance(namespace, str) else ""
