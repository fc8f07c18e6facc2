"""The order of an apply: stages, components, and the waits between them (a pure function)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kfops.objects import identity_of

from ._kinds import Kinds
from ._webhooks import Webhook, intercepting, webhooks_in


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: its stage folder, component and objects in apply order."""

    path: str
    component: str
    objects: tuple[dict[str, Any], ...]

    @property
    def stage(self) -> str:
        """`00-crds`, `10-namespaces`, `20-prereqs` or `30-platform`."""
        return self.path.split("/")[0]


@dataclass
class Step:
    """Objects sent together, after the webhooks they need are ready."""

    label: str
    component: str
    objects: list[dict[str, Any]]
    needs: list[Webhook] = field(default_factory=list)
    """Webhooks that must answer before these objects are sent."""
    crds: bool = False
    """Wait until these CRDs are Established (and learn their kinds) afterwards."""


def apply_steps(files: Sequence[BundleFile], kinds: Kinds) -> list[Step]:
    """Steps in apply order: CRDs, namespaces, prerequisites, then the platform.

    Within a stage, objects no webhook intercepts go first, component by
    component (cert-manager, then Istio, then the rest); objects a webhook
    intercepts follow, in the same order, each group once its webhooks are ready.
    """
    all_objects = [obj for f in files for obj in f.objects]
    webhooks = webhooks_in(all_objects)
    namespace_labels = {str(o["metadata"]["name"]): dict(o["metadata"].get("labels") or {})
                        for o in all_objects if o.get("kind") == "Namespace"}
    steps: list[Step] = []
    crds = [o for f in files if f.stage == "00-crds" for o in f.objects]
    if crds:
        steps.append(Step("CustomResourceDefinitions", "crds", crds, crds=True))
    namespaces = [o for f in files if f.stage == "10-namespaces" for o in f.objects]
    if namespaces:
        steps.append(Step("namespaces", "namespaces", namespaces))
    kinds.learn_crds_from(crds)
    for stage in sorted({f.stage for f in files} - {"00-crds", "10-namespaces"}):
        steps += _stage_steps([f for f in files if f.stage == stage], webhooks, kinds,
                              namespace_labels)
    return steps


def _stage_steps(files: Sequence[BundleFile], webhooks: list[Webhook], kinds: Kinds,
                 namespace_labels: dict[str, dict[str, str]]) -> list[Step]:
    """A stage: what no webhook intercepts, file by file; then the rest, each after its
    webhooks (so every component's webhook Deployment is starting while kfops waits)."""
    free_steps, gated_steps = [], []
    for bundle_file in files:
        free: list[dict[str, Any]] = []
        gated: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        needs: dict[tuple[str, ...], list[Webhook]] = {}
        for obj in bundle_file.objects:
            hooks = intercepting(obj, webhooks, kinds, namespace_labels)
            if not hooks:
                free.append(obj)
                continue
            key = tuple(sorted(h.name for h in hooks))
            gated.setdefault(key, []).append(obj)
            needs[key] = hooks
        label = bundle_file.path
        if free:
            free_steps.append(Step(label, bundle_file.component, free))
        for key, objects in gated.items():
            gated_steps.append(Step(f"{label} (after webhook {', '.join(key)})",
                                    bundle_file.component, objects, needs[key]))
    return free_steps + gated_steps


def identities(objects: Sequence[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """The identities of `objects`."""
    return {identity_of(o) for o in objects}
