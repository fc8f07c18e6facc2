"""Doctor on one real 26.03 install: the healthy run finds nothing and writes nothing; each of
the API and workload rules finds the one thing a test broke; rules that cannot read still let
the others run."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from kfops.health import Finding, Rule, Snapshot, chosen_rules, run_doctor
from tests.emulator import CLUSTER_SCOPE
from tests.health.conftest import Site

CRD_API = "apiextensions.k8s.io/v1"
KATIB_WEBHOOKS = ("defaulter.experiment.katib.kubeflow.org", "mutator.pod.katib.kubeflow.org",
                  "validator.experiment.katib.kubeflow.org")


def _only(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_a_healthy_install_has_no_finding_and_doctor_writes_nothing(site: Site) -> None:
    report = site.doctor()

    assert report.findings == []
    assert report.not_run == []
    assert report.unreadable == ()
    assert not report.failed
    assert site.emulator.non_reads() == []
    # One list per kind, never one request per object.
    paths = [r.path for r in site.emulator.state.requests]
    assert len(paths) == len(set(paths))
    assert all("labelSelector" not in r.query for r in site.emulator.state.requests)


def test_a_missing_crd_and_one_not_established_are_named(site: Site) -> None:
    site.cluster.delete(CRD_API, "CustomResourceDefinition", "experiments.kubeflow.org")
    notebooks = site.cluster.get(CRD_API, "CustomResourceDefinition", "notebooks.kubeflow.org")
    assert notebooks is not None
    site.cluster.delete(CRD_API, "CustomResourceDefinition", "notebooks.kubeflow.org")
    site.emulator.state.settings.crd_delay = 3600  # a CRD made now is not Established yet
    site.cluster.create({"apiVersion": CRD_API, "kind": "CustomResourceDefinition",
                         "metadata": {"name": "notebooks.kubeflow.org"},
                         "spec": notebooks["spec"]})

    findings = site.doctor("crds").findings

    assert [f.summary for f in findings] == ["CRD experiments.kubeflow.org is missing",
                                             "CRD notebooks.kubeflow.org is not Established"]
    assert all(f.severity == "failure" for f in findings)
    assert findings[0].fix.startswith("kfops apply -f platform.yaml")
    assert findings[1].evidence[0].startswith("CustomResourceDefinition notebooks.kubeflow.org")


def test_without_the_bundle_a_kind_the_install_applied_needs_its_crd(site: Site) -> None:
    site.cluster.delete(CRD_API, "CustomResourceDefinition", "gateways.networking.istio.io")
    recorded = dataclasses.replace(site.facts, crds=frozenset(), source="cluster")

    report = run_doctor(Snapshot(site.cluster, recorded.namespaces), recorded,
                        chosen_rules(["crds"]))

    assert [f.summary for f in report.findings] == [
        "no CRD serves Gateway (networking.istio.io/v1alpha3, networking.istio.io/v1beta1)"]


def test_a_webhook_without_a_ready_endpoint_is_named_with_its_workload(site: Site) -> None:
    site.emulator.state.settings.failing["kubeflow/katib-controller"] = "CrashLoopBackOff"
    site.emulator.state.settings.logs["kubeflow/katib-controller"] = "panic: no certificate\n"

    report = site.doctor("webhooks", "workload-unavailable")

    hooks = _only(report.findings, "webhooks")
    assert [f.summary for f in hooks] == [
        "Service kubeflow/katib-controller of 3 webhook(s) has no ready endpoint"]
    assert hooks[0].evidence[:3] == (
        f"ValidatingWebhookConfiguration katib.kubeflow.org: webhook {KATIB_WEBHOOKS[2]}",
        f"MutatingWebhookConfiguration katib.kubeflow.org: webhook {KATIB_WEBHOOKS[0]}",
        f"MutatingWebhookConfiguration katib.kubeflow.org: webhook {KATIB_WEBHOOKS[1]}")
    assert "failed calling webhook" in hooks[0].evidence[3]
    workloads = _only(report.findings, "workload-unavailable")
    assert [f.summary for f in workloads] == ["Deployment kubeflow/katib-controller is not "
                                              "available"]
    assert workloads[0].severity == "failure"
    assert "CrashLoopBackOff" in workloads[0].evidence[0]
    assert workloads[0].evidence[1].startswith("last event of pod katib-controller-")
    assert workloads[0].fix.startswith("see why it crashes: kubectl logs -n kubeflow "
                                       "katib-controller-")
    assert report.failed


def test_an_empty_injected_ca_bundle_is_named(site: Site) -> None:
    site.emulator.state.settings.failing["cert-manager/cert-manager-cainjector"] = "ErrImagePull"

    hooks = site.doctor("webhooks").findings

    names = {f.summary for f in hooks}
    assert "MutatingWebhookConfiguration katib.kubeflow.org: webhook "\
           f"{KATIB_WEBHOOKS[1]} has no caBundle" in names
    assert all("caBundle" in f.summary for f in hooks)
    assert all("certificate signed by unknown authority" in f.evidence[0] for f in hooks)
    assert "cert-manager-cainjector" in hooks[0].fix


def _event(name: str, namespace: str, when: datetime, kind: str = "Warning",
           reason: str = "BackOff") -> dict[str, Any]:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod",
                               "name": name.split(".", maxsplit=1)[0], "namespace": namespace},
            "reason": reason, "message": f"Back-off restarting failed container in {name}",
            "type": kind, "count": 3, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "kubelet"}}


def test_recent_warning_events_in_platform_namespaces_are_grouped(site: Site) -> None:
    now = datetime.now(UTC)
    for event in (_event("ml-pipeline-1.a", "kubeflow", now - timedelta(minutes=5)),
                  _event("ml-pipeline-2.b", "kubeflow", now - timedelta(minutes=30)),
                  _event("old.c", "kubeflow", now - timedelta(hours=2)),
                  _event("normal.d", "kubeflow", now, kind="Normal"),
                  _event("elsewhere.e", "default", now)):
        site.cluster.create(event)

    findings = site.doctor("warning-events").findings

    assert len(findings) == 1
    assert findings[0].severity == "warning"
    assert findings[0].summary == "6 Warning event(s) BackOff in kubeflow in the last hour"
    assert findings[0].evidence[0] == "Pod ml-pipeline-1, ml-pipeline-2"
    assert findings[0].evidence[1] == ("latest: Back-off restarting failed container in "
                                       "ml-pipeline-1.a")
    assert "--field-selector type=Warning,reason=BackOff" in findings[0].fix
    assert not site.doctor("warning-events").failed


def test_a_namespace_the_credentials_may_not_read_is_reported_and_the_rest_is_read(
        site: Site) -> None:
    state = site.emulator.state
    state.deny("list", "pods", CLUSTER_SCOPE)
    state.deny("list", "pods", "kubeflow")
    state.settings.failing["auth/dex"] = "ImagePullBackOff"

    report = site.doctor("workload-unavailable")

    assert [f.summary for f in report.findings] == ["Deployment auth/dex is not available"]
    assert any(entry.startswith("Pod in kubeflow: ") and "forbidden" in entry
               for entry in report.unreadable)
    assert report.not_run == []


def test_a_rule_that_cannot_read_is_reported_and_the_others_run(site: Site) -> None:
    site.emulator.state.deny("list", "customresourcedefinitions")
    site.emulator.state.settings.failing["auth/dex"] = "CrashLoopBackOff"

    report = site.doctor("crds", "workload-unavailable")

    assert [r.rule for r in report.not_run] == ["crds"]
    assert "forbidden" in str(report.not_run[0].error)
    assert [f.summary for f in report.findings] == ["Deployment auth/dex is not available"]
    assert report.failed


def test_a_rule_that_breaks_is_reported_and_the_others_run(site: Site) -> None:
    def broken(snapshot: Snapshot, facts: object) -> list[Finding]:
        raise ValueError("a bug in this rule")

    rules = [Rule("broken", "never", broken),
             Rule("crds", "CRDs", lambda s, f: [])]
    report = run_doctor(Snapshot(site.cluster, site.facts.namespaces), site.facts, rules)

    assert [(r.rule, r.error) for r in report.results] == [
        ("broken", "ValueError: a bug in this rule"), ("crds", None)]
    assert report.failed
