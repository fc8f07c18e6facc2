"""Plan, prune, uninstall and secret adoption on the emulated cluster, with users' data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kfops.cluster import Cluster, uninstall
from kfops.config import LoadedPlatform, load_platform
from kfops.operations import changes, plan_platform, platform_applyset, uninstall_platform
from kfops.render import RenderOptions
from tests.conftest import FAST_WAITS, NO_BACKOFF, LocalInstall, PlatformWriter
from tests.emulator import RunningEmulator

from .conftest import apply, stored

DATA = ["PersistentVolumeClaim kubeflow/katib-mysql",
        "PersistentVolumeClaim kubeflow/mysql-pv-claim",
        "PersistentVolumeClaim kubeflow/seaweedfs-pvc"]


def _pvcs(emulator: RunningEmulator) -> list[str]:
    return sorted(f"{key[2]}/{key[3]}" for key in stored(emulator)
                  if key[:2] == ("", "persistentvolumeclaims"))


def _team_profile(cluster: Cluster) -> None:
    """A team's Profile, with what the profile controller makes of it: namespace and a PVC."""
    profile = cluster.apply({"apiVersion": "kubeflow.org/v1", "kind": "Profile",
                             "metadata": {"name": "team-a"},
                             "spec": {"owner": {"kind": "User", "name": "a@example.com"}}})
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "team-a", "ownerReferences": [{
            "apiVersion": "kubeflow.org/v1", "kind": "Profile", "name": "team-a",
            "uid": profile["metadata"]["uid"], "controller": True}]}})
    cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
        "name": "workspace", "namespace": "team-a"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})


def test_plan_on_an_empty_cluster_creates_everything(platform: LoadedPlatform,
                                                      cluster: Cluster,
                                                      emulator: RunningEmulator) -> None:
    plan = plan_platform(platform, cluster, RenderOptions(offline=True))

    objects = plan.render.bundle.objects
    assert {e.action for e in plan.entries} == {"create"}
    assert changes(plan.entries) == len(objects)
    # Custom resources whose CRD does not exist yet are creates too; nothing was written.
    assert any(e.object.startswith("Profile ") for e in plan.entries)
    assert emulator.writes() == []


def test_plan_shows_exactly_the_changed_objects(platform: LoadedPlatform, cluster: Cluster,
                                                emulator: RunningEmulator,
                                                local_install: LocalInstall) -> None:
    assert changes(plan_platform(platform, cluster, RenderOptions(offline=True)).entries) == 0
    cluster.merge_patch("apps/v1", "Deployment", "cache-server", {"spec": {"replicas": 4}},
                        "kubeflow")
    cluster.merge_patch("v1", "Secret", "mysql-secret",
                        {"data": {"username": "dHlwZWQtYnktaGFuZA=="}}, "kubeflow")
    before = len(emulator.writes())

    plan = plan_platform(platform, cluster, RenderOptions(offline=True))

    updates = {e.object: e.changes for e in plan.entries if e.action != "unchanged"}
    assert set(updates) == {"Deployment kubeflow/cache-server",
                            "Secret kubeflow/mysql-secret"}
    assert updates["Deployment kubeflow/cache-server"] == ["spec.replicas: 4 -> 1"]
    # Secret values are never shown, only which key differs.
    assert updates["Secret kubeflow/mysql-secret"] == ["data.username: changed"]
    assert plan.adopted == []
    assert len(emulator.writes()) == before
    assert emulator.writes(dry_run=True)


def test_prune_removes_a_dropped_component_but_keeps_its_pvc(
        platform_file: PlatformWriter, cluster: Cluster, emulator: RunningEmulator) -> None:
    path = platform_file()
    apply(load_platform(path), cluster)
    assert "kubeflow/katib-mysql" in _pvcs(emulator)
    without_katib = platform_file(spec_extra="  components:\n    katib: false\n")
    assert without_katib == path

    plan = plan_platform(load_platform(path), cluster, RenderOptions(offline=True))
    result = apply(load_platform(path), cluster)

    assert "Deployment kubeflow/katib-controller" in result.summary.pruned
    assert "CustomResourceDefinition experiments.kubeflow.org" in result.summary.pruned
    assert cluster.get("apps/v1", "Deployment", "katib-controller", "kubeflow") is None
    assert result.summary.kept == [
        "PersistentVolumeClaim kubeflow/katib-mysql: holds data (a PersistentVolumeClaim)"]
    assert "kubeflow/katib-mysql" in _pvcs(emulator)
    assert {e.object for e in plan.entries if e.action == "prune"} == set(result.summary.pruned)
    assert [e.object for e in plan.entries if e.action == "keep"] == [
        "PersistentVolumeClaim kubeflow/katib-mysql"]
    # The kept PVC stays in the inventory, so a later --purge-data can still remove it.
    again = apply(load_platform(path), cluster, purge_data=True)
    assert again.summary.pruned == ["PersistentVolumeClaim kubeflow/katib-mysql"]
    assert "kubeflow/katib-mysql" not in _pvcs(emulator)


def test_objects_kfops_did_not_apply_or_marked_keep_are_never_pruned(
        platform_file: PlatformWriter, cluster: Cluster) -> None:
    path = platform_file()
    apply(load_platform(path), cluster)
    theirs = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "team-notes", "namespace": "kubeflow"}}
    cluster.apply(theirs)
    cluster.merge_patch("v1", "Service", "katib-ui", {"metadata": {"annotations": {
        "kfops.io/keep": "true"}}}, "kubeflow")
    platform_file(spec_extra="  components:\n    katib: false\n")

    result = apply(load_platform(path), cluster)

    assert cluster.get("v1", "ConfigMap", "team-notes", "kubeflow") is not None
    assert cluster.get("v1", "Service", "katib-ui", "kubeflow") is not None
    assert any(k.startswith("Service kubeflow/katib-ui: ") for k in result.summary.kept)
    assert cluster.get("apps/v1", "Deployment", "katib-ui", "kubeflow") is None


def test_uninstall_keeps_users_data(platform: LoadedPlatform, cluster: Cluster,
                                    emulator: RunningEmulator, kubeconfig: Path,
                                    local_install: LocalInstall) -> None:
    _team_profile(cluster)

    # A new process: it knows no CRD kinds until it reads them from the cluster.
    with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as fresh:
        summary = uninstall(fresh, platform_applyset(platform), waits=FAST_WAITS)

    kept = {entry.split(":")[0] for entry in summary.kept}
    assert kept == {*DATA, "Namespace kubeflow", "Profile kubeflow-user-example-com",
                    "CustomResourceDefinition profiles.kubeflow.org"}
    assert _pvcs(emulator) == ["kubeflow/katib-mysql", "kubeflow/mysql-pv-claim",
                               "kubeflow/seaweedfs-pvc", "team-a/workspace"]
    assert cluster.get("v1", "Namespace", "team-a") is not None
    assert cluster.get("apps/v1", "Deployment", "ml-pipeline", "kubeflow") is None
    assert cluster.get("apps/v1", "Deployment", "istiod", "istio-system") is None
    assert "Namespace istio-system" in summary.deleted
    # The parent now lists only what was kept.
    assert cluster.get("v1", "Secret", "kfops-lab", "kube-system") is not None


def test_uninstall_with_purge_data_removes_kfops_data_never_foreign_objects(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator,
        local_install: LocalInstall) -> None:
    _team_profile(cluster)
    uninstall(cluster, platform_applyset(platform), waits=FAST_WAITS)

    summary = uninstall_platform(cluster, platform_applyset(platform), purge_data=True,
                                 waits=FAST_WAITS)

    # kfops's PVCs and Profile go; the Profile CRD stays for team-a's Profile, which
    # kfops did not apply (deleting the CRD would delete it, its namespace and PVC).
    assert summary.kept == [
        "CustomResourceDefinition profiles.kubeflow.org: deleting it deletes 1 Profile "
        "object kfops did not apply: Profile team-a, users' data (only --purge-data with "
        "--purge-foreign deletes them with it)"]
    assert _pvcs(emulator) == ["team-a/workspace"]
    assert cluster.get("v1", "Secret", "kfops-lab", "kube-system") is not None

    summary = uninstall_platform(cluster, platform_applyset(platform), purge_data=True,
                                 purge_foreign=True, waits=FAST_WAITS)

    assert summary.kept == []
    assert summary.also_deleted == [
        "CustomResourceDefinition profiles.kubeflow.org: also deletes 1 Profile object kfops "
        "did not apply: Profile team-a (--purge-foreign)"]
    assert _pvcs(emulator) == []
    namespaces = sorted(k[3] for k in stored(emulator) if k[:2] == ("", "namespaces"))
    assert namespaces == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert cluster.get("v1", "Secret", "kfops-lab", "kube-system") is None
    # Only what Kubernetes puts in every namespace is left.
    assert {(k[1], k[3]) for k in stored(emulator) if k[:2] != ("", "namespaces")} == {
        ("serviceaccounts", "default"), ("configmaps", "kube-root-ca.crt")}


def test_uninstall_reports_objects_stuck_on_finalizers(platform: LoadedPlatform,
                                                       cluster: Cluster,
                                                       local_install: LocalInstall) -> None:
    cluster.merge_patch("v1", "ConfigMap", "istio", {"metadata": {
        "finalizers": ["example.com/hold"]}}, "istio-system")
    target = platform_applyset(platform)
    waits = type(FAST_WAITS)(timeout=0.2, interval=0.02)

    summary = uninstall(cluster, target, waits=waits)
    assert summary.stuck == [
        "ConfigMap istio-system/istio: finalizers example.com/hold",
        "Namespace istio-system: terminating until the objects in it are gone"]
    assert cluster.get("v1", "Namespace", "istio-system") is not None

    forced = uninstall(cluster, target, force=True, waits=waits)
    assert forced.stuck == [
        "ConfigMap istio-system/istio: finalizers example.com/hold (finalizers removed: --force)",
        "Namespace istio-system: terminating until the objects in it are gone "
        "(finalizers removed: --force)"]
    assert cluster.get("v1", "ConfigMap", "istio", "istio-system") is None
    assert cluster.get("v1", "Namespace", "istio-system") is None


def test_second_state_directory_adopts_the_cluster_secrets(
        platform_file: PlatformWriter, cluster: Cluster, emulator: RunningEmulator,
        tmp_path: Path) -> None:
    first = load_platform(platform_file(folder=tmp_path / "admin-1"))
    applied = apply(first, cluster)
    generated = [g.state_name for g in applied.render.bundle.generated]
    assert generated
    second = load_platform(platform_file(folder=tmp_path / "admin-2"))
    before = len(emulator.writes())

    plan = plan_platform(second, cluster, RenderOptions(offline=True))
    assert changes(plan.entries) == 0
    assert plan.adopted == sorted(set(generated))
    assert not (tmp_path / "admin-2" / ".kfops").exists()  # plan changes nothing
    result = apply(second, cluster)

    assert result.adopted == sorted(set(generated))
    assert emulator.writes()[before:] == []
    values = _values(tmp_path / "admin-1" / ".kfops")
    assert _values(tmp_path / "admin-2" / ".kfops") == values


def test_rotating_secrets_replaces_the_cluster_values(
        platform_file: PlatformWriter, cluster: Cluster, tmp_path: Path) -> None:
    first = load_platform(platform_file(folder=tmp_path / "admin-1"))
    apply(first, cluster)
    second = load_platform(platform_file(folder=tmp_path / "admin-2"))

    result = apply(second, cluster, rotate_secrets=True)

    # Database passwords are not rotated: the databases keep theirs, so they are adopted.
    assert result.adopted == result.not_rotated == ["katib-mysql-password",
                                                    "pipelines-mysql-password"]
    assert any(u.startswith("Secret ") for u in result.summary.updated)


def _values(state: Path) -> dict[str, Any]:
    return dict(json.loads((state / "secrets.json").read_text()))


@pytest.fixture(autouse=True)
def _no_state_dir_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KFOPS_STATE_DIR", raising=False)


def test_a_kind_that_cannot_be_listed_keeps_every_namespace(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator,
        local_install: LocalInstall) -> None:
    # Someone's LimitRanges kfops may not list (RBAC): they could be in any namespace.
    emulator.state.deny("list", "limitranges")

    summary = uninstall_platform(cluster, platform_applyset(platform), waits=FAST_WAITS)

    kept_namespaces = [k for k in summary.kept if k.startswith("Namespace ")]
    assert kept_namespaces and all("may hold objects kfops cannot list (LimitRange" in k
                                   for k in kept_namespaces)
    assert "Deployment kubeflow/ml-pipeline" in summary.deleted
    assert cluster.get("v1", "Namespace", "kubeflow") is not None


def test_users_data_kfops_did_not_apply_needs_both_purge_flags(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator,
        local_install: LocalInstall) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
        "name": "notebook-data", "namespace": "kubeflow"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})

    summary = uninstall_platform(cluster, platform_applyset(platform), purge_foreign=True,
                                 waits=FAST_WAITS)

    [kept] = [k for k in summary.kept if k.startswith("Namespace kubeflow:")]
    assert "users' data kfops did not apply: PersistentVolumeClaim kubeflow/notebook-data" \
        in kept
    assert cluster.get("v1", "PersistentVolumeClaim", "notebook-data", "kubeflow") is not None
