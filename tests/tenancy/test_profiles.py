"""Profiles: KFAM-compatible contributors, quotas, PodDefaults; render, sync and --live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kfops.cluster import ApplyOptions, Cluster
from kfops.config import Profile, Taint, load_platform
from kfops.errors import ConfigError, DataProtected, InputError
from kfops.operations import apply_platform, render_platform
from kfops.render import RenderOptions
from kfops.tenancy import (
    LiveProfiles,
    ProfileInfo,
    binding_name,
    contributor_objects,
    file_profiles,
    gpu_toleration,
    pipeline_access,
    quota_hard,
)
from tests.conftest import FAST_WAITS, PlatformWriter
from tests.emulator import RunningEmulator

HERE = Path(__file__).parent
TEAM = """\
  profiles:
  - name: team-a
    owner: alice@example.com
    contributors: [{email: bob@example.com, role: edit}, {email: carol@example.com, role: view}]
    quota: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "2"}
    podDefaults: [pipelineAccess, gpuToleration]
"""
SECOND = """\
  - name: team-b
    owner: bob@example.com
    podDefaults: [pipelineAccess]
"""


def test_contributors_are_exactly_what_kfam_writes() -> None:
    expected = [d for d in yaml.safe_load_all((HERE / "kfam_expected.yaml").read_text()) if d]

    made = [*contributor_objects("team-a", "bob@example.com", "edit"),
            *contributor_objects("team-a", "Carol.Smith+ml@Example.com", "view")]

    assert made == expected
    assert binding_name("first.last@sub.example.org", "view") == \
        "user-first-last-sub-example-org-clusterrole-view"


def test_quota_names_extended_resources_as_requests() -> None:
    assert quota_hard({"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "2", "pods": 50,
                       "requests.amd.com/gpu": "1"}) == {
        "cpu": "16", "memory": "64Gi", "requests.nvidia.com/gpu": "2", "pods": "50",
        "requests.amd.com/gpu": "1"}


def test_pod_defaults_give_the_pipelines_token_and_the_gpu_toleration() -> None:
    access = pipeline_access("team-a")["spec"]
    [source] = access["volumes"][0]["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "pipelines.kubeflow.org"
    assert access["volumeMounts"][0]["mountPath"] == "/var/run/secrets/kubeflow/pipelines"
    assert access["env"] == [{"name": "KF_PIPELINES_SA_TOKEN_PATH",
                              "value": "/var/run/secrets/kubeflow/pipelines/token"}]
    toleration = gpu_toleration("team-a", Taint(key="gpu", value="yes"))["spec"]["tolerations"]
    assert toleration == [{"key": "gpu", "operator": "Equal", "value": "yes",
                           "effect": "NoSchedule"}]


def _objects(result: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(o.obj["kind"], o.obj["metadata"].get("namespace") or "", o.obj["metadata"]["name"]):
            o.obj for o in result.bundle.objects}


def test_render_adds_each_profile_and_its_namespace_objects(
        platform_file: PlatformWriter) -> None:
    result = render_platform(load_platform(platform_file(spec_extra=TEAM)),
                             RenderOptions(offline=True))

    objects = _objects(result)
    profile = objects[("Profile", "", "team-a")]
    assert profile["spec"] == {"owner": {"kind": "User", "name": "alice@example.com"},
                               "resourceQuotaSpec": {"hard": {
                                   "cpu": "16", "memory": "64Gi",
                                   "requests.nvidia.com/gpu": "2"}}}
    assert {k for k in objects if k[1] == "team-a"} == {
        ("RoleBinding", "team-a", "user-bob-example-com-clusterrole-edit"),
        ("AuthorizationPolicy", "team-a", "user-bob-example-com-clusterrole-edit"),
        ("RoleBinding", "team-a", "user-carol-example-com-clusterrole-view"),
        ("AuthorizationPolicy", "team-a", "user-carol-example-com-clusterrole-view"),
        ("PodDefault", "team-a", "access-ml-pipeline"),
        ("PodDefault", "team-a", "gpu-toleration")}
    assert result.report.checked >= len(result.bundle.objects)


def _apply(path: Path, cluster: Cluster, **options: Any) -> Any:
    return apply_platform(load_platform(path), cluster, ApplyOptions(waits=FAST_WAITS, **options),
                          render_options=RenderOptions(offline=True))


def _pvc(cluster: Cluster, namespace: str) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "workspace", "namespace": namespace},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}})


def test_apply_waits_for_profile_namespaces_and_syncs_removals(
        platform_file: PlatformWriter, cluster: Cluster, emulator: RunningEmulator) -> None:
    path = platform_file(spec_extra=TEAM + SECOND)
    result = _apply(path, cluster)

    assert "PodDefault team-a/access-ml-pipeline" in result.summary.created
    assert cluster.get("rbac.authorization.k8s.io/v1", "RoleBinding",
                       "user-carol-example-com-clusterrole-view", "team-a") is not None
    namespace = cluster.get("v1", "Namespace", "team-b")
    assert namespace is not None and namespace["metadata"]["ownerReferences"][0]["kind"] == \
        "Profile"
    # Profiles the file does not own: one made live, one by the registration flow.
    LiveProfiles(cluster, FAST_WAITS).create(Profile(name="lab-live", owner="z@example.com"),
                                             Taint())
    cluster.apply({"apiVersion": "kubeflow.org/v1", "kind": "Profile",
                   "metadata": {"name": "self-registered"},
                   "spec": {"owner": {"kind": "User", "name": "y@example.com"}}})
    _pvc(cluster, "team-a")
    before = len(emulator.writes())
    assert _apply(path, cluster).summary.created == []
    assert len(emulator.writes()) == before

    # Both teams leave the file: team-b goes with its namespace, team-a holds a PVC.
    platform_file(spec_extra="")
    synced = _apply(path, cluster)

    assert "Profile team-b" in synced.summary.pruned
    assert cluster.get("v1", "Namespace", "team-b") is None
    assert synced.summary.kept == [
        "Profile team-a: its namespace holds users' data kfops did not apply: "
        "PersistentVolumeClaim team-a/workspace (only --purge-data with --purge-foreign "
        "deletes it)"]
    assert cluster.get("kubeflow.org/v1", "Profile", "team-a") is not None
    assert cluster.get("kubeflow.org/v1", "Profile", "lab-live") is not None
    assert cluster.get("kubeflow.org/v1", "Profile", "self-registered") is not None
    sources = {p.name: p.source for p in LiveProfiles(cluster).profiles()}
    assert sources == {"team-a": "platform-file", "lab-live": "live", "self-registered": "other",
                       "kubeflow-user-example-com": "platform-file"}


def test_live_profiles_contributors_and_protected_deletion(cluster: Cluster,
                                                           platform_file: PlatformWriter) -> None:
    _apply(platform_file(), cluster)
    profiles = LiveProfiles(cluster, FAST_WAITS)
    with pytest.raises(InputError, match="namespace kubeflow already exists and is not a "
                                         "profile's"):
        profiles.create(Profile.model_validate({"name": "kubeflow", "owner": "a@example.com"}),
                        Taint())
    assert cluster.get("kubeflow.org/v1", "Profile", "kubeflow") is None
    profiles.create(Profile.model_validate({
        "name": "ml-team", "owner": "ann@example.com", "quota": {"nvidia.com/gpu": "1"},
        "podDefaults": ["pipelineAccess"]}), Taint())

    assert cluster.get("kubeflow.org/v1alpha1", "PodDefault", "access-ml-pipeline",
                       "ml-team") is not None
    profiles.set_contributor("ml-team", "bob@example.com", "view")
    profiles.set_contributor("ml-team", "bob@example.com", "edit")  # a new role replaces the old
    [info] = [p for p in profiles.profiles() if p.name == "ml-team"]
    assert (info.owner, info.source, info.contributors, info.quota) == (
        "ann@example.com", "live", {"bob@example.com": "edit"},
        {"requests.nvidia.com/gpu": "1"})
    assert cluster.get("security.istio.io/v1beta1", "AuthorizationPolicy",
                       "user-bob-example-com-clusterrole-view", "ml-team") is None
    profiles.remove_contributor("ml-team", "bob@example.com")
    assert next(p for p in profiles.profiles() if p.name == "ml-team").contributors == {}
    with pytest.raises(InputError, match="owns profile"):
        profiles.set_contributor("ml-team", "ann@example.com", "edit")
    with pytest.raises(InputError, match="comes from the platform file"):
        profiles.delete("kubeflow-user-example-com")

    _pvc(cluster, "ml-team")
    with pytest.raises(DataProtected, match=r"holds PersistentVolumeClaims \(workspace\)"):
        profiles.delete("ml-team")
    assert cluster.get("kubeflow.org/v1", "Profile", "ml-team") is not None
    profiles.delete("ml-team", purge_data=True)
    assert cluster.get("v1", "Namespace", "ml-team") is None
    assert cluster.get("v1", "PersistentVolumeClaim", "workspace", "ml-team") is None


@pytest.mark.parametrize(("name", "problem"), [
    ("istio-system", "istio-system is a namespace the platform itself uses"),
    ("kubeflow", "kubeflow is a namespace the platform itself uses"),
    ("auth", "auth is a namespace the platform itself uses"),
    ("kubeflow-user-example-com", "a Profile the release itself installs"),
    ("default", "profiles may not be named default or kube-*"),
    ("kube-public", "profiles may not be named default or kube-*"),
])
def test_a_profile_may_not_take_a_platform_namespace(platform_file: PlatformWriter,
                                                     name: str, problem: str) -> None:
    path = platform_file(spec_extra=f"  profiles:\n  - {{name: team-a, owner: a@example.com}}\n"
                                    f"  - {{name: {name}, owner: a@example.com}}\n")
    with pytest.raises(ConfigError) as caught:
        render_platform(load_platform(path), RenderOptions(offline=True))
    [found] = caught.value.problems
    assert (found.path, problem in found.message) == ("spec.profiles[1].name", True), found



def test_the_file_profiles_as_listed_and_a_guarded_deletion_of_one(
        platform_file: PlatformWriter, cluster: Cluster) -> None:
    path = platform_file(spec_extra=TEAM)
    assert file_profiles(load_platform(path).platform) == [ProfileInfo(
        "team-a", "alice@example.com", "platform-file",
        {"bob@example.com": "edit", "carol@example.com": "view"},
        {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "2"})]
    _apply(path, cluster)
    _pvc(cluster, "team-a")
    profiles = LiveProfiles(cluster, FAST_WAITS)
    with pytest.raises(DataProtected, match=r"holds PersistentVolumeClaims \(workspace\); "
                                            "nothing was changed"):
        profiles.deletion("team-a")
    contents = profiles.deletion("team-a", purge_data=True)
    assert (contents.claims, contents.notebooks) == ("workspace", [])
    # The file's profile, which `delete` leaves to the file, goes with `purge` (--apply).
    profiles.purge("team-a")
    assert cluster.get("kubeflow.org/v1", "Profile", "team-a") is None
