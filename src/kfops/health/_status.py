"""Health per component: ready, progressing or failed, with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kfops.cluster import BundleFile, Cluster, PodFailure, workload_failure
from kfops.objects import WORKLOAD_KINDS, describe


@dataclass
class ComponentStatus:
    """One component's state and why."""

    component: str
    state: str
    """ready | progressing | failed."""
    reasons: list[str] = field(default_factory=list)
    workloads: int = 0


def platform_status(cluster: Cluster, files: Sequence[BundleFile]) -> list[ComponentStatus]:
    """The status of every component that has workloads, in bundle order."""
    by_component: dict[str, list[dict[str, Any]]] = {}
    for bundle_file in files:
        for obj in bundle_file.objects:
            if obj.get("kind") in WORKLOAD_KINDS:
                by_component.setdefault(bundle_file.component, []).append(obj)
    return [_component(cluster, name, workloads) for name, workloads in by_component.items()]


def _component(cluster: Cluster, name: str, workloads: list[dict[str, Any]]) -> ComponentStatus:
    failed, progressing = [], []
    for obj in workloads:
        state, reason = workload_state(cluster, obj)
        if state == "failed":
            failed.append(f"{describe(obj)}: {reason}")
        elif state == "progressing":
            progressing.append(f"{describe(obj)}: {reason}")
    if failed:
        return ComponentStatus(name, "failed", failed + progressing, len(workloads))
    if progressing:
        return ComponentStatus(name, "progressing", progressing, len(workloads))
    return ComponentStatus(name, "ready", [], len(workloads))


def workload_state(cluster: Cluster, obj: dict[str, Any]) -> tuple[str, str]:
    """(ready | progressing | failed, reason) of one Deployment, StatefulSet or DaemonSet."""
    metadata = obj["metadata"]
    live = cluster.get(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                       metadata.get("namespace"))
    # The same reasons as apply's waits (FAILING_REASONS); any crash loop counts here.
    return judge_workload(str(obj["kind"]), live,
                          None if live is None else workload_failure(cluster, live))


def judge_workload(kind: str, live: dict[str, Any] | None,
                   failure: PodFailure | None) -> tuple[str, str]:
    """(ready | progressing | failed, reason) of a live workload, given its failing pod."""
    if live is None:
        return "failed", "missing (not applied, or deleted)"
    status = live.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    stuck = conditions.get("Progressing") or {}
    if stuck.get("status") == "False" and stuck.get("reason") == "ProgressDeadlineExceeded":
        return "failed", stuck.get("message") or "rollout exceeded its progress deadline"
    if (conditions.get("ReplicaFailure") or {}).get("status") == "True":
        return "failed", conditions["ReplicaFailure"].get("message") or "replica failure"
    if failure is not None:
        return "failed", str(failure)
    wanted = int((live.get("spec") or {}).get("replicas", 1))
    if kind == "DaemonSet":
        have, wanted = status.get("numberAvailable", 0), status.get("desiredNumberScheduled", 0)
    else:
        have = int(status.get("availableReplicas" if kind == "Deployment"
                              else "readyReplicas", 0) or 0)
    if have >= wanted:
        return "ready", ""
    return "progressing", f"{have}/{wanted} available"
