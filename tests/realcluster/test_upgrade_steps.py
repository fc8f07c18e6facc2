"""The upgrade's own steps on the emulator and on kube-apiserver v1.35.4: the storage-version
migration (objects re-stored, storedVersions trimmed, so the old version can then leave the
CRD) and the recreation of objects whose immutable fields change (refused as an update,
accepted once deleted)."""

from __future__ import annotations

import copy

import pytest

from kfops.errors import InvalidObject
from kfops.upgrade import delete_for_recreation, immutable_changes, migrate_storage
from tests.realcluster.test_conformance import (  # noqa: F401 - `server` is a fixture
    CRD_API,
    Server,
    crd,
    deployment,
    served,
    server,  # the fixture: the emulator, then kube-apiserver v1.35.4
    unique_group,
)


def _crd_status(api: Server, name: str) -> list[str]:
    live = api.cluster.get(CRD_API, "CustomResourceDefinition", name)
    assert live is not None
    return list(live["status"]["storedVersions"])


def test_storage_migration_lets_the_old_version_go(server: Server) -> None:  # noqa: F811
    group = unique_group()
    definition = crd(group, "Widget", versions=("v1beta1", "v1"))
    name = definition["metadata"]["name"]
    served(server, definition)
    where = server.namespace("migrate")
    for index in range(3):
        server.cluster.apply({"apiVersion": f"{group}/v1beta1", "kind": "Widget",
                              "metadata": {"name": f"w{index}", "namespace": where},
                              "spec": {"size": index}})
    # the new release stores v1
    newer = copy.deepcopy(definition)
    for version in newer["spec"]["versions"]:
        version["storage"] = version["name"] == "v1"
    server.cluster.apply(newer)
    assert _crd_status(server, name) == ["v1beta1", "v1"]
    # without the migration, the API server keeps v1beta1 in the CRD
    dropped = copy.deepcopy(newer)
    dropped["spec"]["versions"] = [v for v in newer["spec"]["versions"] if v["name"] == "v1"]
    with pytest.raises(InvalidObject, match="storedVersions"):
        server.cluster.apply(dropped)
    done: list[str] = []
    assert migrate_storage(server.cluster, [name], done.append) == [f"{name}: v1beta1, v1 → v1"]
    assert done == [name]
    assert _crd_status(server, name) == ["v1"]
    assert migrate_storage(server.cluster, [name], done.append) == []  # nothing left to do
    server.cluster.apply(dropped)  # the old version can leave now
    assert len(server.cluster.list(f"{group}/v1", "Widget", where)) == 3


def test_an_immutable_change_is_refused_until_recreated(server: Server) -> None:  # noqa: F811
    where = server.namespace("recreate")
    old = deployment("web", where)
    server.cluster.apply(old)
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "front"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    live = server.cluster.get("apps/v1", "Deployment", "web", where)
    assert live is not None
    changes = immutable_changes(live, new)
    assert [c.field for c in changes] == ["spec.selector"]
    with pytest.raises(InvalidObject, match="field is immutable"):
        server.cluster.apply(new)
    done: list[str] = []
    assert delete_for_recreation(server.cluster, changes, done.append) == [
        f"Deployment {where}/web (spec.selector)"]
    server.wait(lambda: server.cluster.get("apps/v1", "Deployment", "web", where) is None,
                "the Deployment gone")
    server.cluster.apply(new)
    recreated = server.cluster.get("apps/v1", "Deployment", "web", where)
    assert recreated is not None
    assert recreated["spec"]["selector"]["matchLabels"] == {"app": "web", "tier": "front"}
