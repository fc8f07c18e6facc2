"""The copy Job of an upgrade from MinIO to SeaweedFS, as a test or benchmark on the emulator
sees it: its name, and the last log line of a copy that verified (the copy script itself
runs against real S3 servers in tests/storage)."""

from __future__ import annotations

import json
from typing import Any

from kfops.cluster import Cluster
from kfops.storage import _store_copy_script as copy_script
from kfops.storage import decide_store_move


def verified_copy_log(objects: int = 4, size: int = 40) -> str:
    """The copy Job's log after copying `objects` objects (`size` bytes) and verifying them."""
    totals = copy_script.Totals(copied=objects)
    totals.buckets = {"mlpipeline": {"source": {"objects": objects, "bytes": size},
                                     "target": {"objects": objects, "bytes": size},
                                     "onlyInTarget": 0}}
    return json.dumps(copy_script.summary(totals)) + "\n"


def copy_job_name(cluster: Cluster, new_objects: list[dict[str, Any]]) -> str:
    """The name of the Job that copies MinIO's artifacts into SeaweedFS."""
    live = [*cluster.list("apps/v1", "Deployment", "kubeflow"),
            *cluster.list("v1", "Service", "kubeflow")]
    move = decide_store_move(live, new_objects).move
    assert move is not None
    return move.name
