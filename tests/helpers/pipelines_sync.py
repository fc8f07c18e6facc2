"""The 26.03 release's own pipelines profile-controller code, for tests that need what it writes.

Loaded from the upstream snapshot and called in-process (its server is bound to
127.0.0.1 on a free port and never serves), as metacontroller would call it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kfops.storage import _pipelines_hook as hook
from tests.conftest import MANIFESTS

SYNC = ("applications/pipeline/upstream/base/installs/multi-user/"
        "pipelines-profile-controller/sync.py")
#: What metacontroller passes when a namespace has no attachment yet.
NO_ATTACHMENTS: dict[str, dict[str, Any]] = {
    "Secret.v1": {}, "ConfigMap.v1": {}, "Deployment.apps/v1": {}, "Service.v1": {}}


@contextmanager
def release_server(release: str = "26.03") -> Iterator[Any]:
    """The release's profile-controller server (its `sync` is called, it does not serve)."""
    previous = os.environ.get("KFP_VERSION")
    os.environ["KFP_VERSION"] = "2.16.0"
    try:
        module = hook.load_release_sync(str(MANIFESTS / release / SYNC))
        settings = module.get_settings_from_env()
    finally:
        if previous is None:
            os.environ.pop("KFP_VERSION")
        else:
            os.environ["KFP_VERSION"] = previous
    server = module.server_factory(**{**settings, "controller_port": 0, "url": "127.0.0.1"})
    try:
        yield server
    finally:
        server.server_close()


def pipelines_namespace(name: str) -> dict[str, Any]:
    """A profile namespace as the profile controller labels it for pipelines."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"pipelines.kubeflow.org/enabled": "true"}}}


def release_objects(server: Any, namespace: str) -> list[dict[str, Any]]:
    """What 26.03's controller keeps in `namespace` once its SeaweedFS key exists."""
    key = {"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": hook.STORE_SECRET, "namespace": namespace},
           "data": {"accesskey": base64.b64encode(f"seaweedfs-{namespace}".encode()).decode(),
                    "secretkey": base64.b64encode(f"key-of-{namespace}".encode()).decode()}}
    answer = server.RequestHandlerClass.sync(
        None, pipelines_namespace(namespace),
        {**NO_ATTACHMENTS, "Secret.v1": {f"{namespace}/{hook.STORE_SECRET}": key}})
    return list(answer["attachments"])
