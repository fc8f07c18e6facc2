"""Stopping a wait early when a workload cannot become available by itself.

A wait looks at the pods of the workloads it waits for (one list per namespace
and look). A workload whose pod shows a FAILING_REASONS reason for
`WaitSettings.failure_grace` seconds in a row stops the wait with WorkloadFailed,
naming the workload, the reason and its last event, instead of waiting out the
timeout; a pod that recovers sooner (an image pull that worked on retry, a node
that arrived) starts the count again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from kfops.errors import WorkloadFailed
from kfops.objects import describe

from ._api import Cluster
from ._pods import UNSCHEDULABLE, PodFailure, failure_remedy, last_event, workload_failure


class FailureWatch:
    """Remembers since when each workload shows a failing pod; raises past the grace period."""

    def __init__(self, cluster: Cluster, grace: float, crash_restarts: int,
                 unavailable: Callable[[dict[str, Any]], bool]) -> None:
        self._cluster = cluster
        self._grace = grace
        self._crash_restarts = crash_restarts
        self._unavailable = unavailable
        """Whether a workload is still short of available pods (one failing pod of several
        does not stop anything while the rest serve)."""
        self._since: dict[str, float] = {}

    def check(self, workloads: Sequence[dict[str, Any]]) -> None:
        """Look at the pods of `workloads`; WorkloadFailed when one has failed for too long."""
        now = time.monotonic()
        failing = self._failing(workloads)
        self._since = {key: self._since.get(key, now) for key in failing}
        hopeless = [(obj, failure) for key, (obj, failure) in failing.items()
                    if now - self._since[key] >= self._grace and self._unavailable(obj)]
        if hopeless:
            raise WorkloadFailed(self._message(hopeless))

    def _failing(self, workloads: Sequence[dict[str, Any]]
                 ) -> dict[str, tuple[dict[str, Any], PodFailure]]:
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for obj in workloads:
            namespace = obj["metadata"].get("namespace")
            if namespace:
                by_namespace.setdefault(str(namespace), []).append(obj)
        failing = {}
        for namespace, objs in sorted(by_namespace.items()):
            pods = self._cluster.list("v1", "Pod", namespace)
            # Events matter only to tell a pod an autoscaler makes a node for.
            events = self._cluster.list("v1", "Event", namespace) if _unschedulable(pods) \
                else []
            for obj in objs:
                failure = workload_failure(self._cluster, obj, self._crash_restarts, pods,
                                           events)
                if failure is not None:
                    failing[describe(obj)] = (obj, failure)
        return failing

    def _message(self, hopeless: list[tuple[dict[str, Any], PodFailure]]) -> str:
        lines = []
        events: dict[str, list[dict[str, Any]]] = {}
        for obj, failure in hopeless:
            namespace = str(obj["metadata"]["namespace"])
            if namespace not in events:
                events[namespace] = self._cluster.list("v1", "Event", namespace)
            last = last_event(events[namespace], {failure.pod, obj["metadata"]["name"]})
            lines.append(f"{describe(obj)}: {failure}"
                         + (f"; last event: {last}" if last else ""))
            lines.append(f"  {failure_remedy(namespace, failure)}")
        count = "a workload" if len(hopeless) == 1 else f"{len(hopeless)} workloads"
        return (f"{count} cannot become available by itself, so kfops stopped waiting (its pod "
                f"showed this for {self._grace:.0f}s):\n  " + "\n  ".join(lines))


def _unschedulable(pods: Sequence[dict[str, Any]]) -> bool:
    return any(c.get("reason") == UNSCHEDULABLE for p in pods
               for c in (p.get("status") or {}).get("conditions") or [])
