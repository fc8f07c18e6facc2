"""Switching a running 26.03 platform between the in-cluster store and an S3 store.

The profile namespace's store objects are written the way the release's
controller writes them: by the release's own sync.py (26.03, for a namespace
whose SeaweedFS key exists already) and then by kfops's hook around it. The
emulator runs no metacontroller, so the test plays its part: it creates what
the hook answers. The real profile controller labels profile namespaces
`pipelines.kubeflow.org/enabled=true` from its namespace-labels ConfigMap; the
test labels the namespace itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfops.cluster import Cluster
from kfops.config import load_platform
from kfops.operations import changes, plan_platform
from kfops.render import RenderOptions
from kfops.storage import _pipelines_hook as hook
from kfops.storage import rendered_settings
from tests.cluster.conftest import apply
from tests.conftest import PlatformWriter
from tests.helpers import pipelines_sync

_S3 = """\
  objectStore:
    type: s3
    endpoint: https://s3.lab.internal:9443
    bucket: kfp-artifacts
    credentials: {accessKey: {env: KFP_S3_ACCESS_KEY}, secretKey: {env: KFP_S3_SECRET_KEY}}
"""
_TEAM = "team-a"


@pytest.fixture
def release_server() -> Iterator[Any]:
    """The 26.03 release's own profile-controller server."""
    with pipelines_sync.release_server() as server:
        yield server


def _controller_writes(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """Metacontroller's part: create what the hook answers and the namespace lacks."""
    for obj in objects:
        meta = obj["metadata"]
        if cluster.get(obj["apiVersion"], obj["kind"], meta["name"], meta["namespace"]) is None:
            cluster.create(obj)


def _replaced(path: Path, cluster: Cluster) -> list[str]:
    plan = plan_platform(load_platform(path), cluster, RenderOptions(offline=True))
    return sorted(e.object for e in plan.entries if e.action == "replace")


def test_switching_replaces_the_profile_namespaces_store_objects(
        platform_file: PlatformWriter, cluster: Cluster, release_server: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_S3_ACCESS_KEY", "AKIAKFOPSTEST0001")
    monkeypatch.setenv("KFP_S3_SECRET_KEY", "s3-secret-key-of-the-test-platform")
    in_cluster = platform_file()
    apply(load_platform(in_cluster), cluster)
    cluster.create(pipelines_sync.pipelines_namespace(_TEAM))
    _controller_writes(cluster, pipelines_sync.release_objects(release_server, _TEAM))
    store_objects = [f"ConfigMap {_TEAM}/artifact-repositories",
                     f"ConfigMap {_TEAM}/kfp-launcher", f"Secret {_TEAM}/{hook.STORE_SECRET}"]
    assert _replaced(in_cluster, cluster) == []  # the release's own objects, its own store

    s3 = platform_file(spec_extra=_S3, folder=in_cluster.parent / "s3")
    assert _replaced(s3, cluster) == store_objects
    result = apply(load_platform(s3), cluster)
    assert sorted(result.replaced) == store_objects
    for kind, name in (("ConfigMap", "kfp-launcher"), ("ConfigMap", "artifact-repositories"),
                       ("Secret", hook.STORE_SECRET)):
        assert cluster.get("v1", kind, name, _TEAM) is None
    assert cluster.get("v1", "ConfigMap", "metadata-grpc-configmap", _TEAM) is not None
    # the in-cluster store is gone but its data: prune keeps the claim
    assert cluster.get("apps/v1", "Deployment", "seaweedfs", "kubeflow") is None
    assert cluster.get("v1", "PersistentVolumeClaim", "seaweedfs-pvc", "kubeflow") is not None

    keys = hook.shared_keys({hook.ACCESS_KEY_ENV: "AKIAKFOPSTEST0001",
                             hook.SECRET_KEY_ENV: "s3-secret-key-of-the-test-platform"})
    store = rendered_settings([o.obj for o in result.render.bundle.objects])
    assert store is not None and store["endpoint"] == "https://s3.lab.internal:9443"
    hook.wrap(release_server, store, keys)
    answer = release_server.RequestHandlerClass.sync(
        None, pipelines_sync.pipelines_namespace(_TEAM), pipelines_sync.NO_ATTACHMENTS)
    _controller_writes(cluster, answer["attachments"])
    launcher = cluster.get("v1", "ConfigMap", "kfp-launcher", _TEAM)
    assert launcher is not None
    assert launcher["data"]["defaultPipelineRoot"] == (
        f"s3://kfp-artifacts/private-artifacts/{_TEAM}/v2/artifacts")
    plan = plan_platform(load_platform(s3), cluster, RenderOptions(offline=True))
    assert changes(plan.entries) == 0, [e for e in plan.entries if e.action != "unchanged"]

    # back to the in-cluster store: what kfops's hook wrote is replaced again
    assert _replaced(in_cluster, cluster) == store_objects
