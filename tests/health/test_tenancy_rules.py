"""profile-namespace and quota-exhausted on a copy of one real 26.03 install: Profiles whose
namespace never appears (controller down, owner conflict) and profile quotas used up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kfops.cluster import PRUNE_RULE, WITHOUT_PVCS
from kfops.health import Snapshot, chosen_rules, run_doctor
from tests.health.conftest import Site

PROFILE = "kubeflow-user-example-com"
"""The profile of the release's default user (common/user-namespace)."""
CONTROLLER = "kubeflow/profiles-deployment"
QUOTA = "kf-resource-quota"
"""The ResourceQuota the profile controller makes from a Profile's resourceQuotaSpec."""
CONFLICT = "namespace already exist, but not owned by profile creator alice@example.com"
"""The Failed condition Kubeflow's profile controller writes (profile_controller.go)."""


def _profile(name: str, owner: str, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": metadata,
            "spec": {"owner": {"kind": "User", "name": owner}}}


def _report_failed(site: Site, profile: str, *messages: str) -> None:
    """The Failed conditions the profile controller appends, one per attempt."""
    site.emulator.state.report_status(("kubeflow.org", "profiles", "", profile), {
        "conditions": [{"type": "Failed", "message": m} for m in messages]})


def _later(site: Site, rule: str, after: timedelta = timedelta(minutes=10)) -> list[Any]:
    snapshot = Snapshot(site.cluster, site.facts.namespaces, now=datetime.now(UTC) + after)
    return run_doctor(snapshot, site.facts, chosen_rules([rule])).findings


def test_a_healthy_install_has_no_finding_of_these_rules_nor_of_any(site: Site) -> None:
    report = site.doctor()

    assert report.findings == []
    assert report.not_run == []
    assert site.emulator.non_reads() == []


def test_a_profile_whose_controller_is_down_has_no_namespace(site: Site) -> None:
    site.emulator.state.settings.profile_controller = False
    site.emulator.state.settings.failing[CONTROLLER] = "CrashLoopBackOff"
    site.cluster.apply(_profile("team-a", "alice@example.com"))

    report = site.doctor("profile-namespace")

    assert [(f.severity, f.summary) for f in report.findings] == [
        ("failure", "Profile team-a's namespace was never made")]
    evidence = report.findings[0].evidence
    assert evidence[0] == "Profile team-a (owner alice@example.com): namespace team-a not found"
    assert evidence[1].startswith(f"profile controller Deployment {CONTROLLER}: failed: ")
    assert "CrashLoopBackOff" in evidence[1]
    assert report.findings[0].fix.startswith(
        "start the profile controller, which makes the namespace: kubectl -n kubeflow describe "
        "deployment profiles-deployment")
    assert report.failed


def test_a_running_controller_that_did_not_make_the_namespace_says_why(site: Site) -> None:
    site.emulator.state.settings.profile_controller = False
    site.cluster.apply(_profile("team-a", "alice@example.com"))
    failed = "Owning namespace failed to create within 15 seconds"
    _report_failed(site, "team-a", failed, failed)

    findings = site.doctor("profile-namespace").findings

    assert [f.evidence for f in findings] == [(
        "Profile team-a (owner alice@example.com): namespace team-a not found",
        f"condition Failed: {failed}",
        f"profile controller Deployment {CONTROLLER}: available")]
    assert findings[0].fix == ("see why the profile controller does not make it: kubectl -n "
                               "kubeflow logs deployment/profiles-deployment -c manager")


def test_a_namespace_another_owner_holds_is_named(site: Site) -> None:
    owned = {"name": "team-b", "annotations": {"owner": "bob@example.com"}}
    site.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": owned})
    site.cluster.apply(_profile("team-b", "alice@example.com"))
    _report_failed(site, "team-b", CONFLICT, CONFLICT)

    findings = site.doctor("profile-namespace").findings

    assert [(f.severity, f.summary) for f in findings] == [
        ("failure", "Profile team-b cannot take namespace team-b: it is not owned by the "
                    "profile's owner")]
    assert findings[0].evidence == (
        "Profile team-b (owner alice@example.com): namespace team-b exists, owned by "
        "bob@example.com",
        f"condition Failed: {CONFLICT}")
    assert "kubectl annotate namespace team-b owner=alice@example.com --overwrite" in \
        findings[0].fix
    assert "rename it in spec.profiles[].name in platform.yaml" in findings[0].fix
    assert "kfops profile create <new-name> --owner alice@example.com --live" in findings[0].fix


def test_a_new_profile_the_running_controller_is_making_is_not_a_finding(site: Site) -> None:
    site.emulator.state.settings.profile_controller = False
    site.cluster.apply(_profile("team-a", "alice@example.com"))

    assert site.doctor("profile-namespace").findings == []
    # Still without its namespace minutes later: then it is one.
    assert [f.summary for f in _later(site, "profile-namespace")] == [
        "Profile team-a's namespace was never made"]


def _quota(site: Site, namespace: str, hard: dict[str, str], used: dict[str, str]) -> None:
    """The profile's ResourceQuota with the use the quota controller reports."""
    site.cluster.apply({"apiVersion": "v1", "kind": "ResourceQuota",
                        "metadata": {"name": QUOTA, "namespace": namespace},
                        "spec": {"hard": hard}})
    site.emulator.state.report_status(("", "resourcequotas", namespace, QUOTA),
                                      {"hard": hard, "used": used})


def _refused_event(site: Site, namespace: str) -> str:
    message = (f'Error creating: pods "train-7d9f-x2x" is forbidden: exceeded quota: {QUOTA}, '
               "requested: requests.cpu=2, used: requests.cpu=16, limited: requests.cpu=16")
    stamp = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    site.cluster.create({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "train-7d9f.1", "namespace": namespace},
        "involvedObject": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "train-7d9f",
                           "namespace": namespace},
        "reason": "FailedCreate", "message": message, "type": "Warning", "count": 7,
        "firstTimestamp": stamp, "lastTimestamp": stamp,
        "source": {"component": "replicaset-controller"}})
    return message


def test_an_exhausted_profile_quota_is_named_with_the_pods_it_refused(site: Site) -> None:
    hard = {"requests.cpu": "16", "requests.memory": "64Gi", "requests.nvidia.com/gpu": "2"}
    _quota(site, PROFILE, hard, {"requests.cpu": "16", "requests.memory": "60Gi",
                                 "requests.nvidia.com/gpu": "0"})
    message = _refused_event(site, PROFILE)

    report = site.doctor("quota-exhausted")

    assert [(f.severity, f.summary) for f in report.findings] == [
        ("failure", f"ResourceQuota {PROFILE}/{QUOTA} of profile {PROFILE} is exhausted")]
    assert report.findings[0].evidence == (
        f"ResourceQuota {PROFILE}/{QUOTA}: requests.cpu 16/16, requests.memory 60Gi/64Gi",
        f"FailedCreate ReplicaSet train-7d9f: {message}")
    # The release's own profile is not in spec.profiles: edit the Profile.
    assert report.findings[0].fix.startswith(f"raise the profile's quota: kubectl edit profile "
                                             f"{PROFILE} (spec.resourceQuotaSpec.hard")
    assert report.failed


def test_a_nearly_exhausted_quota_of_a_kfops_profile_names_the_platform_field(site: Site) -> None:
    site.emulator.state.settings.profile_delay = 0
    site.cluster.apply(_profile("team-a", "alice@example.com", **{PRUNE_RULE: WITHOUT_PVCS}))
    assert site.cluster.get("v1", "Namespace", "team-a") is not None
    _quota(site, "team-a", {"requests.cpu": "16", "requests.memory": "64Gi"},
           {"requests.cpu": "15", "requests.memory": "1Gi"})

    report = site.doctor("quota-exhausted")

    assert [(f.severity, f.summary, f.evidence) for f in report.findings] == [
        ("warning", f"ResourceQuota team-a/{QUOTA} of profile team-a is nearly exhausted "
                    "(over 90%)", (f"ResourceQuota team-a/{QUOTA}: requests.cpu 15/16",))]
    assert report.findings[0].fix.startswith(
        "raise the profile's quota: spec.profiles[] (name: team-a) quota in platform.yaml, then "
        "kfops apply -f platform.yaml")
    assert not report.failed  # warnings do not fail


def test_quotas_with_room_or_outside_the_profiles_are_not_findings(site: Site) -> None:
    # Half used, and a GPU quota of 0 that forbids GPUs on purpose.
    _quota(site, PROFILE, {"requests.cpu": "16", "requests.nvidia.com/gpu": "0"},
           {"requests.cpu": "8", "requests.nvidia.com/gpu": "0"})
    # Used up, but in a platform namespace, not a profile's.
    _quota(site, "kubeflow", {"pods": "10"}, {"pods": "10"})

    assert site.doctor("quota-exhausted").findings == []
