"""The upgrade's rules on their own: immutable fields, release direction, version reading."""

from __future__ import annotations

import pytest

from kfops.catalog import releases_between, version_numbers
from kfops.errors import InputError
from kfops.upgrade import immutable_changes, release_direction


def _deployment(selector: dict[str, str], **extra: object) -> dict[str, object]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "n"},
            "spec": {"selector": {"matchLabels": selector}, **extra}}


def test_only_fields_the_new_object_sets_count() -> None:
    live = _deployment({"app": "a"})
    assert immutable_changes(live, _deployment({"app": "a"})) == []
    changed = immutable_changes(live, _deployment({"app": "b"}))
    assert [c.field for c in changed] == ["spec.selector"]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"clusterIP": "10.96.0.7", "ports": [{"port": 80}]}}
    # the allocated clusterIP is the server's; only a new object naming another one changes it
    assert immutable_changes(service, {**service, "spec": {"ports": [{"port": 80}]}}) == []
    assert [c.field for c in immutable_changes(
        service, {**service, "spec": {"clusterIP": "None"}})] == ["spec.clusterIP"]


def test_claims_keep_data_and_statefulsets_orphan() -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "c", "namespace": "n"},
             "spec": {"storageClassName": "a", "resources": {"requests": {"storage": "1Gi"}}}}
    [change] = immutable_changes(claim, {**claim, "spec": {"storageClassName": "b"}})
    assert change.keeps_data and not change.orphans
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "b", "namespace": "n"},
               "roleRef": {"kind": "ClusterRole", "name": "view"}}
    [change] = immutable_changes(binding, {**binding, "roleRef": {"kind": "ClusterRole",
                                                                   "name": "edit"}})
    assert change.field == "roleRef" and not change.keeps_data
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
           "spec": {"serviceName": "a"}}
    [change] = immutable_changes(sts, {**sts, "spec": {"serviceName": "b"}})
    assert change.orphans


def test_release_direction() -> None:
    assert release_direction("v1.10.2", "26.03") == "upgrade"
    assert release_direction("26.03", "26.03") == "same"
    assert release_direction("", "26.03") == "same"  # not recorded: no upgrade known
    with pytest.raises(InputError, match="a downgrade is refused"):
        release_direction("26.03", "v1.10.2")
    with pytest.raises(InputError, match=r"upgrade to v1\.10\.x first"):
        release_direction("v1.9.0", "26.03")
    assert releases_between("v1.11.x", "26.03") == []


def test_version_numbers() -> None:
    assert version_numbers("v1.26.1") == (1, 26, 1)
    assert version_numbers("26.03") == (26, 3)
    assert version_numbers("latest") == ()
