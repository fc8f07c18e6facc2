"""The scheduler's filters and its "0/N nodes are available" message (Jobs' pods, _jobs, and
failing workloads' Unschedulable pods, _kubelet).

As https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/ describes it, each
node goes through the filter plugins in their default order and the first that refuses it
gives its reason: NodeUnschedulable (`node(s) were unschedulable`), TaintToleration (a
NoSchedule or NoExecute taint the pod does not tolerate: `node(s) had untolerated taint(s)`,
https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/), NodeAffinity
(`nodeSelector`: `node(s) didn't match Pod's node affinity/selector`), NodeResourcesFit (one
`Insufficient <resource>` per resource whose request exceeds the node's
`status.allocatable`; a container's limit stands for its missing request, as the API server
defaults it; init containers count by their largest,
https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/,
https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/). The message counts each
reason over the nodes, sorted, and adds what the DRA plugin and preemption found:
`0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient nvidia.com/gpu.
no new claims to deallocate, preemption: 0/3 nodes are available: 3 Preemption is not helpful
for scheduling.` (kube-scheduler v1.35.4; held by tests/realcluster/test_conformance.py).
Simpler: other pods' requests are not counted (a node is never full), so preemption is never
helpful; only a failing workload held Unschedulable by the test (`full`) finds its nodes
full: `Insufficient cpu`, `No preemption victims found for incoming pod`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ._encoding import quantity_value

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NO_NODES = "no nodes available to schedule pods"


def unschedulable(pod: dict[str, Any], nodes: list[dict[str, Any]], *,
                  full: bool = False) -> str | None:
    """The scheduler's message for `pod`, or None when a node takes it (`full`: every node
    that would take it is full, so none does)."""
    if not nodes:
        return NO_NODES
    reasons: dict[str, int] = {}
    preemption: dict[str, int] = {}
    for node in nodes:
        why = misfit(pod, node)
        if not why:
            if not full:
                return None
            why, helps = ["Insufficient cpu"], NO_VICTIMS
        else:
            helps = NOT_HELPFUL
        for reason in why:
            reasons[reason] = reasons.get(reason, 0) + 1
        preemption[helps] = preemption.get(helps, 0) + 1
    count = len(nodes)
    return (f"0/{count} nodes are available: {_histogram(reasons)}. no new claims to "
            f"deallocate, preemption: 0/{count} nodes are available: {_histogram(preemption)}.")


def misfit(pod: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """Why `pod` cannot run on `node` (the first refusing filter's reasons); [] when it can."""
    spec, node_spec = pod.get("spec") or {}, node.get("spec") or {}
    if node_spec.get("unschedulable"):
        return ["node(s) were unschedulable"]
    tolerations = spec.get("tolerations") or []
    if any(taint.get("effect") in ("NoSchedule", "NoExecute") and not any(
            _tolerates(t, taint) for t in tolerations) for taint in node_spec.get("taints") or []):
        return ["node(s) had untolerated taint(s)"]
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return ["node(s) didn't match Pod's node affinity/selector"]
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    return [f"Insufficient {resource}" for resource, amount in sorted(requests(spec).items())
            if amount > quantity_value(allocatable.get(resource, "0"))]


def requests(spec: dict[str, Any]) -> dict[str, Decimal]:
    """What the pod asks for, per resource: its containers' requests summed (a limit where
    the request is missing), or its largest init container's, whichever is more."""
    def asked(container: dict[str, Any]) -> dict[str, Decimal]:
        resources = container.get("resources") or {}
        return {name: quantity_value(value) for name, value in
                {**(resources.get("limits") or {}), **(resources.get("requests") or {})}.items()}

    total: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        for name, value in asked(container).items():
            total[name] = total.get(name, Decimal(0)) + value
    for container in spec.get("initContainers") or []:
        for name, value in asked(container).items():
            total[name] = max(total.get(name, Decimal(0)), value)
    return {name: value for name, value in total.items() if value > 0}


def _histogram(counts: dict[str, int]) -> str:
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items()))


def _tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or bool(toleration["key"] == taint["key"])
    return bool(toleration.get("key") == taint["key"]
                and toleration.get("value", "") == taint.get("value", ""))
