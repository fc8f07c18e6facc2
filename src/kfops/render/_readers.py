"""Workloads restart when a generated value they read changes (`apply --rotate-secrets`).

Programs read a Secret once, at start: from their environment, or from a
mounted file the kubelet would update later but which they rarely read
again. Every workload of the bundle whose pod template reads a Secret holding
a generated value gets a digest of those values in its pod template's
annotations, so a rotation rolls exactly the workloads that read one.
Jobs are left out: their pod template cannot change once created.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from kfops.objects import WORKLOAD_KINDS, secret_value

from ._contributions import EditableBundle

GENERATED_DIGEST = "kfops.io/generated-digest"


def restart_readers_of_generated(bundle: EditableBundle) -> None:
    """Annotate every workload that reads a generated value with a digest of those values."""
    values = _generated_values(bundle)
    if not values:
        return
    for kind in WORKLOAD_KINDS:
        for item in list(bundle.of_kind(kind)):
            namespace = str(item.obj["metadata"].get("namespace") or "")
            read = sorted((name, key, value) for name in _secrets_read(item.obj)
                          for key, value in values.get((namespace, name), {}).items())
            if not read:
                continue
            digest = hashlib.sha256(json.dumps(read).encode()).hexdigest()[:16]
            template = bundle.edit(item)["spec"]["template"]
            metadata = template.setdefault("metadata", {})
            metadata["annotations"] = {**(metadata.get("annotations") or {}),
                                       GENERATED_DIGEST: digest}


def _generated_values(bundle: EditableBundle) -> dict[tuple[str, str], dict[str, str]]:
    """(namespace, Secret name) -> generated key -> value, as the bundle holds them."""
    values: dict[tuple[str, str], dict[str, str]] = {}
    for generated in bundle.generated:
        _, kind, namespace, name = generated.secret
        item = bundle.find(kind, name, namespace or None)
        value = secret_value(item.obj, generated.key) if item is not None else None
        if value is not None:
            values.setdefault((namespace, name), {})[generated.key] = value
    return values


def _secrets_read(workload: dict[str, Any]) -> set[str]:
    """Names of the Secrets a workload's pods read: env, envFrom, volumes, projections."""
    spec = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    names = set()
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for entry in container.get("env") or []:
            names.add(((entry.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name"))
        for source in container.get("envFrom") or []:
            names.add((source.get("secretRef") or {}).get("name"))
    for volume in spec.get("volumes") or []:
        names.add((volume.get("secret") or {}).get("secretName"))
        names.update(_projected(volume))
    return {str(name) for name in names if name}


def _projected(volume: dict[str, Any]) -> Iterator[str | None]:
    for source in (volume.get("projected") or {}).get("sources") or []:
        yield (source.get("secret") or {}).get("name")
