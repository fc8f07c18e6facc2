"""What several rules share: the pods they look at (those of the platform's namespaces and of
the profiles', where users' notebooks and runs live), and how findings name things."""

from __future__ import annotations

from typing import Any

from kfops.cluster import PodFailure, workload_failure

from ._facts import InstallFacts
from ._snapshot import Snapshot

EXAMPLES = 3
"""Objects named per finding before `and N more`."""
APPLY = "kfops apply -f platform.yaml"
"""The command most fixes end with."""


def watched_namespaces(snapshot: Snapshot, facts: InstallFacts) -> set[str]:
    """The platform's namespaces and every Profile's (see Snapshot.watched_namespaces)."""
    return snapshot.watched_namespaces() | set(facts.namespaces)


def watched_pods(snapshot: Snapshot, facts: InstallFacts) -> list[dict[str, Any]]:
    """The pods of the watched namespaces, by namespace and name."""
    namespaces = watched_namespaces(snapshot, facts)
    pods = [p for p in snapshot.list("v1", "Pod")
            if (p.get("metadata") or {}).get("namespace") in namespaces]
    return sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))


def pod_name(pod: dict[str, Any]) -> str:
    """`namespace/name` of a pod."""
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def shown(names: list[str]) -> str:
    """The first EXAMPLES names, and how many more there are."""
    more = len(names) - EXAMPLES
    return ", ".join(names[:EXAMPLES]) + (f" and {more} more" if more > 0 else "")


def first_few(lines: list[str], more: str) -> list[str]:
    """The first EXAMPLES lines, and `and N more <more>` for the rest."""
    rest = len(lines) - EXAMPLES
    return lines[:EXAMPLES] + ([f"and {rest} more {more}"] if rest > 0 else [])


def failing_pod_of(snapshot: Snapshot, workload: dict[str, Any]) -> PodFailure | None:
    """The first pod of a live workload that cannot start by itself (as `status` judges it),
    from the snapshot's pods and events of its namespace."""
    namespace = str(workload["metadata"].get("namespace") or "")
    return workload_failure(None, workload, pods=snapshot.in_namespace("v1", "Pod", namespace),
                            events=snapshot.in_namespace("v1", "Event", namespace))
