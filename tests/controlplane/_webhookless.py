"""The one transformation the real tier makes to what it applies: no webhooks.

No webhook server can run without containers (kwok only pretends to run pods), and the API
server must never dial a pod or Service address. So what the real control plane is given
has no MutatingWebhookConfiguration, ValidatingWebhookConfiguration or APIService, and every
CRD converts between its versions by itself (`conversion: {strategy: None}`). Everything
else is applied exactly as rendered. Tests that need webhook behaviour (waiting for a
webhook's endpoints, a webhook that refuses) stay on the emulator.

`without_webhooks()` transforms objects; `kustomize_wrapper()` writes a kustomize for kfops's
KFOPS_KUSTOMIZE that applies it to every build (`_kustomize_webhookless`), so `kfops
render|plan|apply` run from the CLI all see the same objects.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Kinds the API server would call out to, by group and kind.
DROPPED = {
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("apiregistration.k8s.io", "APIService"),
}
_MAIN = Path(__file__).resolve().parent / "_kustomize_webhookless.py"


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return group, str(obj.get("kind", ""))


def without_webhooks(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects but webhook configurations and APIServices; CRDs convert without a webhook."""
    return [_converting_itself(obj) for obj in objects if group_kind(obj) not in DROPPED]


def _converting_itself(obj: dict[str, Any]) -> dict[str, Any]:
    """A CRD with a conversion webhook as one that converts by itself (others as they are)."""
    if group_kind(obj) != ("apiextensions.k8s.io", "CustomResourceDefinition"):
        return obj
    conversion = obj.get("spec", {}).get("conversion") or {}
    if conversion.get("strategy") != "Webhook":
        return obj
    changed = copy.deepcopy(obj)
    changed["spec"]["conversion"] = {"strategy": "None"}
    return changed


def kustomize_wrapper(folder: Path) -> Path:
    """An executable `kustomize` in folder that builds without webhooks (for KFOPS_KUSTOMIZE).

    Its builds differ from a plain kustomize's of the same version: give kfops a cache of
    its own (KFOPS_CACHE_DIR) while it is in use.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "kustomize"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{_MAIN}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper
