"""The pods doctor's pod rules look at: those of the platform's namespaces and of the
profiles' namespaces (where users' notebooks and runs live)."""

from __future__ import annotations

from typing import Any

from kfops.errors import Forbidden

from ._facts import InstallFacts
from ._snapshot import Snapshot

EXAMPLES = 3
"""Objects named per finding before `and N more`."""


def watched_namespaces(snapshot: Snapshot, facts: InstallFacts) -> set[str]:
    """The platform's namespaces and every Profile's (a Profile's namespace has its name;
    Profiles the credentials may not list leave the platform's alone)."""
    try:
        profiles = snapshot.list("kubeflow.org/v1", "Profile")
    except Forbidden:
        profiles = []
    return set(facts.namespaces) | {str(p["metadata"]["name"]) for p in profiles}


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
