"""Restarting a workload's pods, as `kubectl rollout restart` does, and waiting for them."""

from __future__ import annotations

import datetime
from typing import Any

from ._api import Cluster
from ._waits import WaitSettings, wait_for_workloads

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def rollout_restart(cluster: Cluster, workload: dict[str, Any], waits: WaitSettings,
                    template: dict[str, Any] | None = None) -> None:
    """Restart `workload` (one write) and wait until it is available again.

    `template` is merged into the pod template in the same write (e.g. a new
    envFrom), so a change and its restart are one rollout.
    """
    metadata = workload["metadata"]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch: dict[str, Any] = {"metadata": {"annotations": {RESTARTED_AT: now}}}
    patch.update(template or {})
    restarted = cluster.merge_patch(str(workload["apiVersion"]), str(workload["kind"]),
                                    metadata["name"], {"spec": {"template": patch}},
                                    metadata.get("namespace"))
    restarted.setdefault("apiVersion", workload["apiVersion"])
    restarted.setdefault("kind", workload["kind"])
    wait_for_workloads(cluster, [restarted], waits)
