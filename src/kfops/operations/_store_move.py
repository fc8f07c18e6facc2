"""The upgrade's data move: Pipelines' artifacts from the old release's MinIO to the new
release's SeaweedFS, copied and verified by a Job before the old store is pruned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kfops.cluster import Cluster, WaitSettings, wait_for_workloads
from kfops.errors import OperationError
from kfops.objects import secret_value
from kfops.storage import (
    CopySummary,
    StoreCopy,
    StoreEndpoint,
    StoreMove,
    decide_store_move,
    store_namespace,
)


@dataclass(frozen=True)
class StoreMoveResult:
    """What the move did: nothing (and why), or the copy's verified summary."""

    reason: str
    summary: CopySummary | None = None
    resumed: bool = False
    """The copy Job was found running or done (an earlier run was interrupted)."""

    @property
    def moved(self) -> bool:
        """Whether artifacts were copied (and verified) between two in-cluster stores."""
        return self.summary is not None

    @property
    def verified(self) -> bool:
        """Every object of the old store is in the new one, with its size (True when there was
        nothing to move)."""
        return self.summary is None or self.summary.verified


def move_store_data(cluster: Cluster, new_objects: Sequence[dict[str, Any]],
                    waits: WaitSettings | None = None,
                    on_poll: Callable[[list[str]], None] = lambda _: None) -> StoreMoveResult:
    """Copy the artifacts of the old release's in-cluster store into the new render's.

    Call it once the new render is applied and before prune: the old store
    (found in the cluster: its Deployment and Service beside the new store)
    still runs, the new one (`new_objects`, the new render's objects with its
    Secrets) is being started. Nothing to do unless both are in-cluster stores
    of different products (MinIO → SeaweedFS): `spec.objectStore` of type
    `s3` or `azureBlob`, or an old store that is SeaweedFS already, give the
    reason. Otherwise both stores are waited for, the copy Job runs (or the
    one an interrupted run left is reused), and its summary is returned once
    it verified; OperationError names the Job and what did not match.
    """
    waits = waits or WaitSettings()
    namespace = store_namespace(new_objects)
    if namespace is None:
        return StoreMoveResult(decide_store_move([], new_objects).reason)
    live = [*cluster.list("apps/v1", "Deployment", namespace),
            *cluster.list("v1", "Service", namespace)]
    decision = decide_store_move(live, new_objects)
    if decision.move is None:
        return StoreMoveResult(decision.reason)
    move = decision.move
    _check_keys(cluster, move)
    stores = [*_deployment(live, move.source), *_deployment(new_objects, move.target)]
    wait_for_workloads(cluster, stores, waits, on_poll)
    copy = StoreCopy(cluster, move, waits)
    summary = copy.run(on_poll)
    return StoreMoveResult(decision.reason, summary, copy.resumed)


def _deployment(objects: Sequence[dict[str, Any]], endpoint: StoreEndpoint
                ) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == "Deployment"
            and o["metadata"]["name"] == endpoint.deployment
            and o["metadata"].get("namespace") == endpoint.namespace]


def _check_keys(cluster: Cluster, move: StoreMove) -> None:
    """Both stores' Secrets hold the keys the Job reads (else its pod never starts)."""
    for endpoint in (move.source, move.target):
        _check_secret(cluster, endpoint)


def _check_secret(cluster: Cluster, endpoint: StoreEndpoint) -> None:
    secret = cluster.get("v1", "Secret", endpoint.secret, endpoint.namespace)
    where = f"Secret {endpoint.namespace}/{endpoint.secret}"
    if secret is None:
        raise OperationError(f"{where}, which holds {endpoint.name}'s keys, does not exist: "
                             "the artifact copy cannot sign its requests")
    missing = [key for key in (endpoint.access_key, endpoint.secret_key)
               if secret_value(secret, key) is None]
    if missing:
        raise OperationError(f"{where} has no key {', '.join(missing)}: the artifact copy "
                             f"cannot sign its requests to {endpoint.name}")
