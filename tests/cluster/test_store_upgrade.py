"""From v1.10.2 (MinIO) to 26.03 (SeaweedFS) on the emulator: the profile namespaces' copies of
the shared store key are rotated, the artifacts are moved before prune, and prune keeps
MinIO's claim.

The profile namespaces hold what each release's own controller writes: v1.10.2's sync.py
(a copy of the platform's key) and then 26.03's (a key of the namespace's own). The
emulator runs no metacontroller, so the test plays its part: it creates what the hook
answers, with the annotation and owner metacontroller puts on every attachment
(metacontroller's pkg/controller/decorator/controller.go). The real profile controller
labels profile namespaces `pipelines.kubeflow.org/enabled=true`; the test labels them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kfops.cluster import ApplyOptions, Cluster
from kfops.config import load_platform
from kfops.operations import (
    UpgradeOptions,
    apply_platform,
    plan_platform,
    render_platform,
)
from kfops.render import RenderOptions
from kfops.storage import _pipelines_hook as hook
from kfops.storage import _store_copy_script as script
from kfops.storage import decide_store_move
from tests.cluster.conftest import apply
from tests.conftest import FAST_WAITS, MANIFESTS, PlatformWriter
from tests.emulator import RunningEmulator
from tests.helpers import pipelines_sync
from tests.helpers.presets import secret

CONTROLLER = "kubeflow-pipelines-profile-controller"
DECORATOR = "metacontroller.k8s.io/decorator-controller"
_TEAM, _ADMIN_MADE = "team-a", "team-b"


@contextmanager
def v110_server(cluster: Cluster) -> Iterator[Any]:
    """v1.10.2's own profile-controller server, with the platform's keys as its env holds
    them (base64 of the kubeflow namespace's Secret)."""
    module = hook.load_release_sync(str(MANIFESTS / "v1.10.2" / pipelines_sync.SYNC))
    keys = cluster.get("v1", "Secret", hook.STORE_SECRET, "kubeflow")
    assert keys is not None
    settings = module.get_settings_from_env(
        controller_port=0, visualization_server_tag="2.5.0", frontend_tag="2.5.0",
        disable_istio_sidecar=False, minio_access_key=keys["data"]["accesskey"],
        minio_secret_key=keys["data"]["secretkey"])
    server = module.server_factory(**{**settings, "url": "127.0.0.1"})
    try:
        yield server
    finally:
        server.server_close()


OFFLINE = RenderOptions(offline=True)


def _metacontroller_writes(cluster: Cluster, namespace: str, objects: list[dict[str, Any]]
                           ) -> None:
    """Create what the hook answered, as metacontroller does: annotated with the
    DecoratorController and owned by the namespace."""
    parent = cluster.get("v1", "Namespace", namespace)
    assert parent is not None
    for obj in objects:
        meta = obj["metadata"]
        if cluster.get(obj["apiVersion"], obj["kind"], meta["name"], namespace) is not None:
            continue
        meta.setdefault("annotations", {})[DECORATOR] = CONTROLLER
        meta["namespace"] = namespace
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Namespace",
                                    "name": namespace, "uid": parent["metadata"]["uid"],
                                    "controller": True, "blockOwnerDeletion": True}]
        cluster.create(obj)


def _replaced(path: Path, cluster: Cluster) -> dict[str, list[str]]:
    plan = plan_platform(load_platform(path), cluster, RenderOptions(offline=True))
    return {e.object: e.changes for e in plan.entries if e.action == "replace"}


def test_upgrade_rotates_shared_key_copies_and_moves_artifacts_before_prune(
        platform_file: PlatformWriter, cluster: Cluster, emulator: RunningEmulator) -> None:
    old = platform_file(release="v1.10.2")
    new = platform_file(release="26.03", folder=old.parent / "26.03")
    apply(load_platform(old), cluster)
    platform_key = cluster.get("v1", "Secret", hook.STORE_SECRET, "kubeflow")
    assert platform_key is not None
    for namespace in (_TEAM, _ADMIN_MADE):
        cluster.create(pipelines_sync.pipelines_namespace(namespace))
    with v110_server(cluster) as server:
        answer = server.RequestHandlerClass.sync(
            None, pipelines_sync.pipelines_namespace(_TEAM), pipelines_sync.NO_ATTACHMENTS)
    _metacontroller_writes(cluster, _TEAM, answer["attachments"])
    copied = cluster.get("v1", "Secret", hook.STORE_SECRET, _TEAM)
    assert copied is not None and copied["data"] == platform_key["data"]  # v1.10's copy
    # An administrator's own Secret of that name (no metacontroller mark): never touched.
    cluster.create({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": hook.STORE_SECRET, "namespace": _ADMIN_MADE},
                    "data": platform_key["data"]})

    assert _replaced(old, cluster) == {}  # v1.10.x: its MinIO has no per-namespace keys
    stale = f"Secret {_TEAM}/{hook.STORE_SECRET}"
    replaced = _replaced(new, cluster)
    assert list(replaced) == [stale]
    assert "copy of the platform's shared store key" in replaced[stale][0]

    # the upgrade (kfops apply across releases): the copies replaced after the staged apply,
    # the artifacts moved while both stores run, then prune
    loaded = load_platform(new)
    _copy_job_ends(emulator, cluster,
                   [o.obj for o in render_platform(loaded, OFFLINE).bundle.objects])
    result = apply_platform(loaded, cluster, ApplyOptions(waits=FAST_WAITS),
                            render_options=OFFLINE, upgrade=UpgradeOptions(backup=False))
    assert result.replaced == [stale]
    assert cluster.get("v1", "Secret", hook.STORE_SECRET, _TEAM) is None
    assert cluster.get("v1", "Secret", hook.STORE_SECRET, _ADMIN_MADE) is not None
    assert result.upgrade is not None
    assert result.upgrade.store.startswith("artifacts copied and verified: 4 objects")
    assert "Deployment kubeflow/minio" in result.summary.pruned
    assert cluster.get("apps/v1", "Deployment", "minio", "kubeflow") is None
    assert cluster.get("v1", "PersistentVolumeClaim", "minio-pvc", "kubeflow") is not None

    # 26.03's controller gives the namespace a key of its own: nothing stale is left
    with pipelines_sync.release_server() as server:
        _metacontroller_writes(cluster, _TEAM, pipelines_sync.release_objects(server, _TEAM))
    own = cluster.get("v1", "Secret", hook.STORE_SECRET, _TEAM)
    assert own is not None and secret(own, "accesskey") == f"seaweedfs-{_TEAM}"
    assert _replaced(new, cluster) == {}


def _copy_job_ends(emulator: RunningEmulator, cluster: Cluster,
                   new_objects: list[dict[str, Any]]) -> None:
    """The copy Job's pod, on a node of the emulator, ends with a verified summary."""
    live = [*cluster.list("apps/v1", "Deployment", "kubeflow"),
            *cluster.list("v1", "Service", "kubeflow")]
    move = decide_store_move(live, new_objects).move
    assert move is not None
    found = script.Totals(copied=4)
    found.buckets = {"mlpipeline": {"source": {"objects": 4, "bytes": 40},
                                    "target": {"objects": 4, "bytes": 40}, "onlyInTarget": 0}}
    cluster.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"}})
    with emulator.lock:
        emulator.state.report_status(("", "nodes", "", "worker-1"),
                                     {"allocatable": {"cpu": "8", "memory": "32Gi"}})
        emulator.state.settings.jobs = True
        emulator.state.settings.job_results[f"kubeflow/{move.name}"] = (
            0, json.dumps(script.summary(found)) + "\n")


def test_a_key_of_the_namespace_own_is_never_stale(
        platform_file: PlatformWriter, cluster: Cluster) -> None:
    """26.03 from the start: the controller's per-namespace keys stay, a copy of the platform's
    key that metacontroller did not write stays too."""
    path = platform_file()
    apply(load_platform(path), cluster)
    platform_key = cluster.get("v1", "Secret", hook.STORE_SECRET, "kubeflow")
    assert platform_key is not None
    cluster.create(pipelines_sync.pipelines_namespace(_TEAM))
    with pipelines_sync.release_server() as server:
        _metacontroller_writes(cluster, _TEAM, pipelines_sync.release_objects(server, _TEAM))
    cluster.create(pipelines_sync.pipelines_namespace(_ADMIN_MADE))
    cluster.create({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": hook.STORE_SECRET, "namespace": _ADMIN_MADE,
                                 "annotations": {DECORATOR: "some-other-controller"}},
                    "data": {"accesskey": platform_key["data"]["accesskey"],
                             "secretkey": base64.b64encode(b"x").decode()}})
    assert _replaced(path, cluster) == {}
