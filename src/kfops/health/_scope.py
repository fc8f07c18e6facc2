"""The pods doctor's pod rules look at: those of the platform's namespaces and of the
profiles' namespaces (where users' notebooks and runs live)."""

from __future__ import annotations

from typing import Any

from ._facts import InstallFacts
from ._snapshot import Snapshot

EXAMPLES = 3
"""Objects named per finding before `and N more`."""


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
