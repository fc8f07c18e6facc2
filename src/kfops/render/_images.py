"""Container images of pod templates, as fully qualified references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

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


def normalise_image(reference: str) -> str:
    """`busybox:1.28` -> `docker.io/library/busybox:1.28`; adds `:latest` when untagged."""
    name, at, digest = reference.partition("@")
    first, slash, rest = name.partition("/")
    if not slash:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    elif first in ("index.docker.io", "registry-1.docker.io"):
        name = f"docker.io/{rest}"
    if name.startswith("docker.io/") and name.count("/") == 1:
        name = f"docker.io/library/{name.removeprefix('docker.io/')}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not at:
        name += ":latest"
    return f"{name}{at}{digest}"


def pod_template_images(objects: Iterable[dict[str, Any]]) -> list[str]:
    """Sorted, unique, normalised images of every built-in workload's pod template."""
    return sorted({normalise_image(image) for obj in objects for image in _images_of(obj)})


def _images_of(obj: dict[str, Any]) -> Iterator[str]:
    path = _POD_SPEC_PATHS.get(str(obj.get("kind")))
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    if path is None or group not in ("", "apps", "batch"):
        return
    spec: Any = obj
    for key in path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return
    for field in _CONTAINER_LISTS:
        for container in spec.get(field) or []:
            image = container.get("image") if isinstance(container, dict) else None
            if isinstance(image, str) and image:
                yield image
