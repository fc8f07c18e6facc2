"""pvc-pending on a copy of one real 26.03 install: the claims of the platform and of the
profiles that stay Pending, and why (no default StorageClass, a class that does not exist, a
provisioner that does not provision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kfops.catalog import DEFAULT_CLASS_ANNOTATION
from kfops.health import Snapshot, chosen_rules, run_doctor
from tests.health.conftest import Site

PROFILE = "kubeflow-user-example-com"
"""The profile of the release's default user (common/user-namespace)."""


def _storage_class(name: str, *, default: bool = False,
                   binding: str = "Immediate") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if default:
        metadata["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true"}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": metadata,
            "provisioner": "rancher.io/local-path", "volumeBindingMode": binding}


def _pending_claim(site: Site, namespace: str, name: str,
                   storage_class: str | None = None) -> None:
    """A claim the PersistentVolume controller left Pending (the emulator has no such
    controller: the test reports the status it would)."""
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "5Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    site.cluster.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": name, "namespace": namespace}, "spec": spec})
    _report_pending(site, namespace, name)


def _report_pending(site: Site, namespace: str, name: str) -> None:
    site.emulator.state.report_status(("", "persistentvolumeclaims", namespace, name),
                                      {"phase": "Pending"})


def _claim_event(site: Site, claim: tuple[str, str], kind: str, said: tuple[str, str]) -> None:
    """An event of the PersistentVolume controller about `claim` (namespace, name): `said` is
    its reason and message."""
    (namespace, claim_name), (reason, message) = claim, said
    stamp = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    site.cluster.create({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{claim_name}.1", "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim_name,
                           "namespace": namespace},
        "reason": reason, "message": message, "type": kind, "count": 12,
        "firstTimestamp": stamp, "lastTimestamp": stamp,
        "source": {"component": "persistentvolume-controller"}})


def test_claims_pending_without_a_default_storage_class_are_named(site: Site) -> None:
    site.cluster.apply(_storage_class("standard"))
    _report_pending(site, "kubeflow", "katib-mysql")  # the release's claim, made without class
    _claim_event(site, ("kubeflow", "katib-mysql"), "Normal", (
        "FailedBinding",
        "no persistent volumes available for this claim and no storage class is set"))
    _pending_claim(site, PROFILE, "workspace-notebook")

    report = site.doctor("pvc-pending")

    assert [(f.severity, f.summary) for f in report.findings] == [
        ("failure", "PVCs stay Pending without a default StorageClass")]
    finding = report.findings[0]
    assert finding.evidence == (
        "PVC kubeflow/katib-mysql Pending, storageClassName: unset; last event: FailedBinding "
        "no persistent volumes available for this claim and no storage class is set",
        f"PVC {PROFILE}/workspace-notebook Pending, storageClassName: unset",
        "StorageClasses: standard (none marked default)")
    assert "kubectl patch storageclass standard -p '{\"metadata\":{\"annotations\":{\"" \
           "storageclass.kubernetes.io/is-default-class\":\"true\"}}}'" in finding.fix
    assert "spec.storage.defaultStorageClass" in finding.fix
    assert "spec.storage.nfs" in finding.fix
    assert report.failed


def test_a_claim_of_a_storage_class_that_does_not_exist_is_named(site: Site) -> None:
    site.cluster.apply(_storage_class("standard", default=True))
    _pending_claim(site, PROFILE, "data", storage_class="fast")
    _claim_event(site, (PROFILE, "data"), "Warning",
                 ("ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found'))

    findings = site.doctor("pvc-pending").findings

    assert [(f.severity, f.summary) for f in findings] == [
        ("failure", "PVCs stay Pending: StorageClass fast does not exist")]
    assert findings[0].evidence == (
        f'PVC {PROFILE}/data Pending, storageClassName: "fast"; last event: ProvisioningFailed '
        'storageclass.storage.k8s.io "fast" not found',
        "StorageClasses: standard")
    assert findings[0].fix.startswith("create StorageClass fast")


def test_a_claim_waiting_for_its_first_consumer_or_for_a_default_is_not_a_failure(
        site: Site) -> None:
    site.cluster.apply(_storage_class("local-path", default=True, binding="WaitForFirstConsumer"))
    # No pod uses it yet: a WaitForFirstConsumer class provisions when one does.
    _pending_claim(site, PROFILE, "later", storage_class="local-path")
    # Made before the default existed: Kubernetes gives it the default class now.
    _pending_claim(site, PROFILE, "unclassed")
    # Pending outside the platform's and the profiles' namespaces: not the platform's.
    _pending_claim(site, "default", "elsewhere", storage_class="fast")

    report = run_doctor(Snapshot(site.cluster, site.facts.namespaces,
                                 now=datetime.now(UTC) + timedelta(hours=1)),
                        site.facts, chosen_rules(["pvc-pending"]))

    assert report.findings == []
    assert not report.failed


def test_a_claim_its_class_does_not_provision_in_time_is_a_warning(site: Site) -> None:
    site.cluster.apply(_storage_class("local-path", default=True, binding="WaitForFirstConsumer"))
    _pending_claim(site, PROFILE, "used", storage_class="local-path")
    site.cluster.create({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "notebook-0", "namespace": PROFILE},
                         "spec": {"containers": [{"name": "notebook", "image": "jupyter"}],
                                  "volumes": [{"name": "home", "persistentVolumeClaim": {
                                      "claimName": "used"}}]}})

    def pvc_pending(after: timedelta) -> list[tuple[str, str]]:
        snapshot = Snapshot(site.cluster, site.facts.namespaces, now=datetime.now(UTC) + after)
        report = run_doctor(snapshot, site.facts, chosen_rules(["pvc-pending"]))
        return [(f.severity, f.summary) for f in report.findings]

    assert pvc_pending(timedelta(0)) == []  # the provisioner is given a few minutes
    assert pvc_pending(timedelta(minutes=10)) == [
        ("warning", f"PVC {PROFILE}/used is Pending: StorageClass local-path has not "
                    "provisioned it")]
