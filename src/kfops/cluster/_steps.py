"""The order of an apply: stages, components, and the waits between them (a pure function)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kfops.objects import CRDS_STAGE, NAMESPACES_STAGE

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
        """The stage folder, one of those `kfops.objects.STAGES` lists."""
        return self.path.split("/")[0]


@dataclass
class Step:
    """Objects sent together, after the webhooks they need are ready."""

    label: str
    component: str
    objects: list[dict[str, Any]]
    needs: list[Webhook] = field(default_factory=list)
    """Webhooks that must answer before these objects are sent."""
    namespaces: list[str] = field(default_factory=list)
    """Namespaces a controller makes (a Profile's) that must exist before these are sent."""
    crds: bool = False
    """Wait until these CRDs are Established (and learn their kinds) afterwards."""


def apply_steps(files: Sequence[BundleFile], kinds: Kinds,
                existing_namespaces: frozenset[str] | None = None) -> list[Step]:
    """Steps in apply order: CRDs, namespaces, prerequisites, then the platform.

    Within a stage, objects no webhook intercepts go first, component by
    component (cert-manager, then Istio, then the rest); objects a webhook
    intercepts follow, in the same order, each group once its webhooks are ready.
    Given the namespaces the cluster has, objects in a namespace that neither
    exists nor is in the bundle (a Profile's, which its controller makes) wait
    for that namespace too.
    """
    all_objects = [obj for f in files for obj in f.objects]
    webhooks = webhooks_in(all_objects)
    namespace_labels = {str(o["metadata"]["name"]): dict(o["metadata"].get("labels") or {})
                        for o in all_objects if o.get("kind") == "Namespace"}
    steps: list[Step] = []
    crds = [o for f in files if f.stage == CRDS_STAGE for o in f.objects]
    if crds:
        steps.append(Step("CustomResourceDefinitions", "crds", crds, crds=True))
    namespaces = [o for f in files if f.stage == NAMESPACES_STAGE for o in f.objects]
    if namespaces:
        steps.append(Step("namespaces", "namespaces", namespaces))
    kinds.learn_crds_from(crds)
    for stage in sorted({f.stage for f in files} - {CRDS_STAGE, NAMESPACES_STAGE}):
        steps += _stage_steps([f for f in files if f.stage == stage], webhooks, kinds,
                              namespace_labels, _made_elsewhere(existing_namespaces,
                                                                namespace_labels))
    return steps


def _made_elsewhere(existing: frozenset[str] | None,
                    in_bundle: dict[str, dict[str, str]]) -> Callable[[str], bool]:
    if existing is None:
        return lambda namespace: False
    return lambda namespace: bool(namespace) and namespace not in existing and \
        namespace not in in_bundle


def _stage_steps(files: Sequence[BundleFile], webhooks: list[Webhook], kinds: Kinds,
                 namespace_labels: dict[str, dict[str, str]],
                 made_elsewhere: Callable[[str], bool]) -> list[Step]:
    """A stage: what no webhook intercepts, file by file; then the rest, each after its
    webhooks (so every component's webhook Deployment is starting while kfops waits)."""
    free_steps: list[Step] = []
    gated_steps: list[Step] = []
    for bundle_file in files:
        free: list[dict[str, Any]] = []
        gated: dict[tuple[tuple[str, ...], str], Step] = {}
        for obj in bundle_file.objects:
            hooks = intercepting(obj, webhooks, kinds, namespace_labels)
            namespace = str(obj["metadata"].get("namespace") or "")
            waits_for = namespace if made_elsewhere(namespace) else ""
            if not hooks and not waits_for:
                free.append(obj)
                continue
            key = (tuple(sorted(h.name for h in hooks)), waits_for)
            if key not in gated:
                gated[key] = Step(_gated_label(bundle_file.path, *key), bundle_file.component,
                                  [], hooks, [waits_for] if waits_for else [])
            gated[key].objects.append(obj)
        if free:
            free_steps.append(Step(bundle_file.path, bundle_file.component, free))
        gated_steps += gated.values()
    return free_steps + gated_steps


def _gated_label(path: str, hooks: tuple[str, ...], namespace: str) -> str:
    after = ([f"webhook {', '.join(hooks)}"] if hooks else []) + (
        [f"namespace {namespace}"] if namespace else [])
    return f"{path} (after {' and '.join(after)})"
