"""The rule about Istio sidecars left behind by an upgrade of the control plane."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kfops.catalog import version_numbers
from kfops.objects import (
    ISTIO_PROXY,
    WORKLOAD_KINDS,
    image_tag,
    istio_proxy_image,
    selector_matches,
    split_reference,
)

from ._facts import InstallFacts
from ._findings import Finding
from ._scope import watched_namespaces, watched_pods
from ._snapshot import Snapshot

ISTIOD = ("istio-system", "istiod")


def old_sidecars(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Workloads whose pods run an Istio proxy older than istiod, by namespace.

    A sidecar is injected when its pod is made, so an upgraded istiod leaves the
    running pods on the old proxy until they are restarted; Istio supports a proxy
    at most one or two minor versions behind its control plane
    (https://istio.io/latest/docs/releases/supported-releases/#control-planedata-plane-version-skew,
    https://istio.io/latest/docs/setup/upgrade/in-place/: "restart the pods to pick up the new
    sidecar").
    """
    istiod = _istiod_version(snapshot)
    if istiod is None:
        return []
    wanted = version_numbers(istiod)
    by_namespace: dict[str, dict[str, str]] = defaultdict(dict)
    for pod in watched_pods(snapshot, facts):
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue  # a finished run's pod: nothing to restart
        image = istio_proxy_image(pod)
        proxy = version_numbers(image_tag(image)) if image is not None else ()
        if not proxy or proxy >= wanted:
            continue
        namespace = pod["metadata"]["namespace"]
        owner = _workload(snapshot, pod)
        by_namespace[namespace].setdefault(
            owner, f"{owner}: {ISTIO_PROXY} {image} (pod {pod['metadata']['name']})")
    profiles = watched_namespaces(snapshot, facts) - set(facts.namespaces)
    return [Finding(
        "sidecar-version", "warning",
        f"{len(lines)} workload(s) in {namespace} run Istio sidecars older than istiod {istiod}",
        tuple(lines[o] for o in sorted(lines)),
        _fix(namespace, sorted(lines), namespace in profiles))
        for namespace, lines in sorted(by_namespace.items())]


def _istiod_version(snapshot: Snapshot) -> str | None:
    """The tag of istiod's pilot image, or None (no istiod, or an untagged image)."""
    istiod = snapshot.find("apps/v1", "Deployment", ISTIOD[1], ISTIOD[0])
    if istiod is None:
        return None
    containers = ((((istiod.get("spec") or {}).get("template") or {}).get("spec") or {})
                  .get("containers") or [])
    images = [str(c.get("image") or "") for c in containers]
    pilot = next((i for i in images if split_reference(i)[0].endswith("/pilot")),
                 images[0] if images else "")
    return image_tag(pilot) or None


def _workload(snapshot: Snapshot, pod: dict[str, Any]) -> str:
    """`Kind/name` of the workload that selects the pod, or `pod/name` when none does (a
    Job's or a run's pod)."""
    labels = pod["metadata"].get("labels") or {}
    for kind in WORKLOAD_KINDS:
        for workload in snapshot.in_namespace("apps/v1", kind, pod["metadata"]["namespace"]):
            selector = (workload.get("spec") or {}).get("selector")
            if selector and selector_matches(selector, labels):
                return f"{kind.lower()}/{workload['metadata']['name']}"
    return f"pod/{pod['metadata']['name']}"


def _fix(namespace: str, owners: list[str], profile: bool) -> str:
    workloads = [o for o in owners if not o.startswith("pod/")]
    pods = [o.removeprefix("pod/") for o in owners if o.startswith("pod/")]
    steps = []
    if workloads:
        steps.append(f"kubectl -n {namespace} rollout restart {' '.join(workloads)}")
    if pods:
        steps.append(f"kubectl -n {namespace} delete pod {' '.join(pods)} (once their work "
                     "is done)")
    advice = " and ".join(steps) + " (the new pods get istiod's sidecar)"
    if profile:
        advice += ("; an upgrade with kfops apply -f platform.yaml --restart-user-workloads "
                   "restarts profile namespaces' workloads itself (notebooks are interrupted)")
    return advice
