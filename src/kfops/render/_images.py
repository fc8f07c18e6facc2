"""Every container image a rendered platform pulls, and where each reference is written.

Pod templates are the obvious place; Kubeflow also keeps images where no
image-list tool looks: in ConfigMaps (Katib's suggestions and metrics
collectors, Knative's queue sidecar, KServe's storage initializer, agent and
router, the Jupyter web app's notebook images), in controllers' environment
variables and arguments (Pipelines' launcher and driver), in custom resources
(KServe serving runtimes, Trainer runtimes, Knative `Image`s), and, for the
Istio sidecar, only as a hub, an image name and a tag in the injector's values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from kfops.objects import describe, is_image_reference, is_reference, normalise_image, references_in

Path = tuple[str | int, ...]

_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_BUILTIN_GROUPS = ("", "apps", "batch")

_NOT_IMAGES = re.compile(r"(pull_?polic|pull_?secret|policy$|secrets?$)", re.IGNORECASE)


@dataclass(frozen=True)
class ImageUse:
    """One place an image is written: the object, the string at `path`, the text in it."""

    image: str
    """The normalised reference (`busybox:1.28` -> `docker.io/library/busybox:1.28`)."""
    object_id: str
    """`kind namespace/name` of the object that holds it."""
    path: Path
    """Keys from the object to the string that holds `raw`."""
    raw: str
    """The reference as written (a hub for Istio's sidecar)."""
    where: str
    """How it was found, e.g. `container manager`, `env V2_LAUNCHER_IMAGE`, `data[...].image`."""
    hub: bool = False
    """`raw` is Istio's `global.hub`; `image` is hub/name:tag, or "" where the values name no
    image (a copy of the values that is not used to pull)."""


def find_image_uses(objects: Iterable[dict[str, Any]]) -> list[ImageUse]:
    """Every image reference in `objects`, with where it is."""
    uses: list[ImageUse] = []
    for obj in objects:
        uses += _uses_in(obj)
    return uses


def image_list(objects: Iterable[dict[str, Any]]) -> list[str]:
    """Sorted, unique, normalised images the objects make the cluster pull."""
    return sorted({use.image for use in find_image_uses(objects) if use.image})


def _uses_in(obj: dict[str, Any]) -> list[ImageUse]:
    who = describe(obj)
    kind = str(obj.get("kind"))
    if kind == "ConfigMap":
        return list(_config_map_uses(obj, who))
    if kind in _POD_SPEC_PATHS and _group(obj) in _BUILTIN_GROUPS:
        return list(_pod_template_uses(obj, who))
    if _group(obj) in _BUILTIN_GROUPS or kind == "CustomResourceDefinition":
        return []
    return list(_structured_uses(obj.get("spec"), who, ("spec",), False, where="spec"))


def _pod_template_uses(obj: dict[str, Any], who: str) -> Iterator[ImageUse]:
    path: Path = _POD_SPEC_PATHS.get(str(obj.get("kind")), ())
    spec: Any = obj
    for key in path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return
    for field in _CONTAINER_LISTS:
        for index, container in enumerate(spec.get(field) or []):
            if not isinstance(container, dict):
                continue
            at = (*path, field, index)
            name = container.get("name", index)
            image = container.get("image")
            if isinstance(image, str) and image:
                yield ImageUse(normalise_image(image), who, (*at, "image"), image,
                               f"container {name}")
            yield from _env_uses(container, who, at, name)
            yield from _arg_uses(container, who, at, name)


def _env_uses(container: dict[str, Any], who: str, at: Path, name: Any) -> Iterator[ImageUse]:
    for index, entry in enumerate(container.get("env") or []):
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str):
            continue
        where = f"container {name} env {entry.get('name')}"
        if "IMAGE" in str(entry.get("name", "")).upper() and is_image_reference(value):
            yield ImageUse(normalise_image(value), who, (*at, "env", index, "value"), value, where)
        else:
            yield from _embedded(value, who, (*at, "env", index, "value"), where)


def _arg_uses(container: dict[str, Any], who: str, at: Path, name: Any) -> Iterator[ImageUse]:
    for field in ("args", "command"):
        values = container.get(field) or []
        for index, value in enumerate(values):
            if not isinstance(value, str):
                continue
            where = f"container {name} {field}[{index}]"
            flag, eq, rest = value.partition("=")
            previous = values[index - 1] if index else ""
            if eq and "image" in flag.lower() and is_image_reference(rest):
                yield ImageUse(normalise_image(rest), who, (*at, field, index), rest, where)
            elif (isinstance(previous, str) and previous.startswith("-")
                  and "image" in previous.lower() and is_image_reference(value)):
                yield ImageUse(normalise_image(value), who, (*at, field, index), value, where)
            else:
                yield from _embedded(value, who, (*at, field, index), where)


def _config_map_uses(obj: dict[str, Any], who: str) -> Iterator[ImageUse]:
    for key, text in (obj.get("data") or {}).items():
        if not isinstance(text, str):
            continue
        at: Path = ("data", key)
        if "image" in key.lower() and not _NOT_IMAGES.search(key) and is_image_reference(
                text.strip()):
            yield ImageUse(normalise_image(text.strip()), who, at, text.strip(), f"data[{key}]")
            continue
        parsed = _parsed(text)
        if parsed is None:
            yield from _embedded(text, who, at, f"data[{key}]")
            continue
        found = list(_istio_sidecar(parsed, who, at, key))
        found += _structured_uses(parsed, who, at, False, where=f"data[{key}]", embedded_in=at)
        yield from found
        # Anything image-shaped the structure did not explain (text inside strings).
        seen = {u.raw for u in found}
        yield from (u for u in _embedded(text, who, at, f"data[{key}]") if u.raw not in seen)


def _structured_uses(value: Any, who: str, at: Path, in_image: bool, *, where: str = "",
                     embedded_in: Path | None = None) -> list[ImageUse]:
    """Strings under a key naming an image, in parsed data or a custom resource."""
    uses: list[ImageUse] = []
    if isinstance(value, dict):
        if isinstance(value.get("image"), str) and isinstance(
                value.get("defaultImageVersion"), str):
            # KServe explainers: the tag is a separate field.
            image = value["image"]
            if is_reference(image):
                uses.append(ImageUse(normalise_image(f"{image}:{value['defaultImageVersion']}"),
                                     who, embedded_in or (*at, "image"), image,
                                     f"{where}.image" if where else "image"))
            value = {k: v for k, v in value.items() if k != "image"}
        for key, child in value.items():
            child_in = in_image or ("image" in str(key).lower()
                                    and not _NOT_IMAGES.search(str(key)))
            uses += _structured_uses(child, who, (*at, key) if embedded_in is None else at,
                                     child_in, where=f"{where}.{key}" if where else str(key),
                                     embedded_in=embedded_in)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            uses += _structured_uses(child, who, (*at, index) if embedded_in is None else at,
                                     in_image, where=f"{where}[{index}]",
                                     embedded_in=embedded_in)
    elif isinstance(value, str) and in_image and is_image_reference(value.strip()):
        uses.append(ImageUse(normalise_image(value.strip()), who, at, value.strip(), where))
    elif isinstance(value, str) and embedded_in is None:
        uses += _embedded(value, who, at, where)
    return uses


def _istio_sidecar(parsed: Any, who: str, at: Path, key: str) -> Iterator[ImageUse]:
    """Istio's injector values: the sidecar is `global.hub`/`global.proxy.image`:`global.tag`."""
    if not isinstance(parsed, dict):
        return
    top = parsed.get("global") if isinstance(parsed.get("global"), dict) else None
    for values in (top, ((parsed.get("spec") or {}).get("values") or {}).get("global")
                   if isinstance(parsed.get("spec"), dict) else None):
        if not isinstance(values, dict):
            continue
        hub, tag = values.get("hub"), values.get("tag")
        if not isinstance(hub, str) or not isinstance(tag, str | int | float):
            continue
        names = {str((values.get(part) or {}).get("image"))
                 for part in ("proxy", "proxy_init") if isinstance(values.get(part), dict)}
        names = {n for n in names if n and n != "None" and "/" not in n}
        variant = values.get("variant")
        suffix = f"-{variant}" if isinstance(variant, str) and variant else ""
        for name in sorted(names):
            yield ImageUse(normalise_image(f"{hub}/{name}:{tag}{suffix}"), who, at, hub,
                           f"data[{key}] global.hub + {name}:{tag}", hub=True)
        if not names:
            yield ImageUse("", who, at, hub, f"data[{key}] global.hub", hub=True)


def _embedded(text: str, who: str, at: Path, where: str) -> list[ImageUse]:
    return [ImageUse(normalise_image(reference), who, at, reference, where)
            for reference in references_in(text)]


def _parsed(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped or (stripped[0] not in "{[" and ":" not in stripped):
        return None
    try:
        return json.loads(text) if stripped[0] in "{[" else yaml.load(text, Loader=_Loader)
    except (ValueError, yaml.YAMLError):
        try:
            return yaml.load(text, Loader=_Loader)
        except yaml.YAMLError:
            return None


class _Loader(yaml.CSafeLoader):
    """YAML without timestamp or other surprises: strings stay strings."""


def _group(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def public_references(obj: dict[str, Any], registry: str) -> list[tuple[str, str]]:
    """(where, reference) of every image reference in `obj` outside `registry`.

    Found images and Istio hubs, and anything image-shaped with a registry host
    in any string (CRDs' schema descriptions aside).
    """
    inside = f"{registry.rstrip('/')}/"
    left = [(u.where, u.raw) for u in find_image_uses([obj])
            if not (u.raw if u.hub else u.image).startswith(inside)
            and not normalise_image(u.raw).startswith(inside)]
    if obj.get("kind") != "CustomResourceDefinition":
        reported = {raw for _, raw in left}
        left += [(where, match) for where, text in _strings(obj, "")
                 for match in references_in(text)
                 if not match.startswith(inside) and match not in reported]
    return left


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _strings(child, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, f"{where}[{index}]")
    elif isinstance(value, str):
        yield where, value
