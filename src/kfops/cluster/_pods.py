"""The pods of a workload and what their containers wait for (why a rollout is stuck)."""

from __future__ import annotations

from typing import Any

from ._api import Cluster


def pods_of(cluster: Cluster, workload: dict[str, Any]) -> list[dict[str, Any]]:
    """The pods a Deployment, StatefulSet or DaemonSet selects, not-running ones first."""
    selector = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    namespace = (workload.get("metadata") or {}).get("namespace")
    if not selector or not namespace:
        return []
    pods = cluster.list("v1", "Pod", str(namespace),
                        {str(k): str(v) for k, v in selector.items()})
    return sorted(pods, key=lambda p: ((p.get("status") or {}).get("phase") == "Running",
                                       p["metadata"]["name"]))


def container_waiting(pod: dict[str, Any]) -> tuple[str, str, str] | None:
    """(container, reason, message) of the first container of `pod` that is waiting."""
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return (str(container.get("name", "")), str(waiting.get("reason", "waiting")),
                    str(waiting.get("message", "")))
    return None
