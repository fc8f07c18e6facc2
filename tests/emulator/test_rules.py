"""The emulator keeps the API-server rules kfops relies on (each rule of _state, checked)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfops.cluster import Cluster, RetryPolicy
from kfops.errors import ClusterError, ObjectNotFound, Unavailable
from tests.conftest import MANIFESTS, ROOT
from tests.emulator import FaultPlan, RunningEmulator, Settings

CRD: dict[str, Any] = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object"}}}]}}


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with RunningEmulator(Settings(crd_delay=0.3, workload_delay=0.3), FaultPlan()) as running:
        yield running


@pytest.fixture
def cluster(emulator: RunningEmulator, tmp_path: Path) -> Iterator[Cluster]:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    with Cluster.connect(kubeconfig, retry=RetryPolicy(attempts=1)) as client:
        yield client


def _request(emulator: RunningEmulator, method: str, path: str, body: dict[str, Any],
             content_type: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(emulator.url + path, data=json.dumps(body).encode(),
                                     method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def _wait_until(check: Any, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_objects_get_uid_resource_version_and_generation(cluster: Cluster) -> None:
    created = cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "a", "namespace": "default"}})
    again = cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "a", "namespace": "default"}})
    changed = cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "a", "namespace": "default"},
                             "data": {"k": "v"}})
    assert created["metadata"]["uid"] == changed["metadata"]["uid"]
    # A write that changes nothing keeps the version; a change moves it on.
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert int(changed["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"])


def test_apply_conflicts_with_another_manager_unless_forced(emulator: RunningEmulator) -> None:
    path = "/api/v1/namespaces/default/configmaps/shared"
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": "default"}, "data": {"k": "one"}}
    apply_patch = "application/apply-patch+yaml"
    # an apply that creates answers 201 Created, as a POST does
    assert _request(emulator, "PATCH", path + "?fieldManager=helm", body, apply_patch)[0] == 201

    body["data"] = {"k": "two"}
    status, answer = _request(emulator, "PATCH", path + "?fieldManager=kfops", body, apply_patch)
    assert status == 409
    assert 'conflict with "helm": .data.k' in answer["message"]
    status, answer = _request(emulator, "PATCH", path + "?fieldManager=kfops&force=true", body,
                              apply_patch)
    assert (status, answer["data"]) == (200, {"k": "two"})


def test_dry_run_returns_the_result_without_storing_it(cluster: Cluster,
                                                       emulator: RunningEmulator) -> None:
    result = cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "dry", "namespace": "default"}}, dry_run=True)
    assert result["metadata"]["name"] == "dry"
    assert cluster.get("v1", "ConfigMap", "dry", "default") is None
    assert emulator.writes() == [] and len(emulator.writes(dry_run=True)) == 1


def test_crd_is_served_then_established_after_its_delay(cluster: Cluster,
                                                        emulator: RunningEmulator) -> None:
    cluster.apply(CRD)
    cluster.learn_crds([CRD])
    name = CRD["metadata"]["name"]
    live = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    assert live is not None
    assert {c["type"]: c["status"] for c in live["status"]["conditions"]}["Established"] == "False"

    def established() -> bool:
        found = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                            CRD["metadata"]["name"]) or {}
        return any(c["type"] == "Established" and c["status"] == "True"
                   for c in found["status"]["conditions"])

    _wait_until(established)
    with urllib.request.urlopen(emulator.url + "/apis/example.com/v1", timeout=10) as answer:
        discovery = json.loads(answer.read())
    assert [r["name"] for r in discovery["resources"]] == ["widgets"]
    cluster.apply({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w", "namespace": "default"}})
    cluster.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD["metadata"]["name"])
    assert cluster.get("example.com/v1", "Widget", "w", "default") is None


def test_namespaced_objects_need_their_namespace(cluster: Cluster) -> None:
    with pytest.raises(ObjectNotFound, match='namespaces "team" not found'):
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "a", "namespace": "team"}})


def test_deletion_cascades_from_a_profile_to_its_namespace_and_pvcs(cluster: Cluster) -> None:
    cluster.apply(CRD)
    owner = cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "owner", "namespace": "default"}})
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "team", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
                                             "name": "owner", "uid": owner["metadata"]["uid"]}]}})
    cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "data", "namespace": "team"}, "spec": {}})

    cluster.delete("v1", "ConfigMap", "owner", "default")

    assert cluster.get("v1", "Namespace", "team") is None
    assert cluster.get("v1", "PersistentVolumeClaim", "data", "team") is None


def test_finalizers_hold_an_object_and_its_namespace(cluster: Cluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    holding = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "held", "namespace": "team", "finalizers": ["example.com/hold"]}}
    cluster.apply(holding)

    cluster.delete("v1", "Namespace", "team")

    held = cluster.get("v1", "ConfigMap", "held", "team")
    namespace = cluster.get("v1", "Namespace", "team")
    assert held is not None and "deletionTimestamp" in held["metadata"]
    assert namespace is not None and "deletionTimestamp" in namespace["metadata"]
    with pytest.raises(ClusterError, match="being terminated"):  # it takes nothing new
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "new", "namespace": "team"}})
    cluster.apply({**holding, "data": {"k": "v"}})  # what is in it may still change
    cluster.merge_patch("v1", "ConfigMap", "held", {"metadata": {"finalizers": None}}, "team")
    assert cluster.get("v1", "ConfigMap", "held", "team") is None
    assert cluster.get("v1", "Namespace", "team") is None


WEBHOOK = {"apiVersion": "admissionregistration.k8s.io/v1",
           "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "check-widgets"},
           "webhooks": [{"name": "check.example.com", "failurePolicy": "Fail",
                         "sideEffects": "None", "admissionReviewVersions": ["v1"],
                         "clientConfig": {"service": {"name": "checker",
                                                      "namespace": "default"}},
                         "rules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                    "operations": ["CREATE"], "resources": ["configmaps"]}]}]}
CHECKER = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "checker", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "checker"}},
                    "template": {"metadata": {"labels": {"app": "checker"}}, "spec": {
                        "containers": [{"name": "checker", "image": "checker"}]}}}}


def test_webhook_without_a_ready_endpoint_refuses_what_it_intercepts(cluster: Cluster) -> None:
    cluster.apply(WEBHOOK)
    cluster.apply({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "checker", "namespace": "default"},
                   "spec": {"selector": {"app": "checker"}, "ports": [{"port": 443}]}})
    cluster.apply(CHECKER)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "checked", "namespace": "default"}}

    with pytest.raises(Unavailable, match=r"failed calling webhook.*connection refused"):
        cluster.apply(config_map)

    def endpoint_ready() -> bool:
        slices = cluster.list("discovery.k8s.io/v1", "EndpointSlice", "default",
                              {"kubernetes.io/service-name": "checker"})
        return any(e["conditions"]["ready"] for s in slices for e in s.get("endpoints") or [])

    _wait_until(endpoint_ready)
    cluster.apply(config_map)


def test_discovery_lists_served_kinds_and_drops_a_deleted_crd(cluster: Cluster,
                                                              emulator: RunningEmulator) -> None:
    two_versions = {**CRD, "spec": {**CRD["spec"], "versions": [
        {**CRD["spec"]["versions"][0], "storage": False},
        {"name": "v2", "served": True, "storage": True,
         "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    cluster.apply(two_versions)
    _wait_until(lambda: ("example.com", "Widget") in
                {(k.group, k.kind) for k in cluster.served_kinds()})

    served = {(k.group, k.kind): k for k in cluster.served_kinds()}
    # Each kind once, stored kinds only, namespaced as the API server says.
    assert served[("", "ConfigMap")].namespaced and not served[("", "Namespace")].namespaced
    assert served[("apps", "Deployment")].api_version == "apps/v1"
    assert served[("example.com", "Widget")].namespaced
    assert not [k for k in served if "/" in served[k].plural]
    cluster.apply({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w", "namespace": "default"}})
    assert [w["metadata"]["name"] for w in cluster.list("example.com/v1", "Widget")] == ["w"]

    cluster.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")

    assert ("example.com", "Widget") not in {(k.group, k.kind) for k in cluster.served_kinds()}
    with urllib.request.urlopen(emulator.url + "/apis", timeout=10) as answer:
        groups = [g["name"] for g in json.loads(answer.read())["groups"]]
    assert "example.com" not in groups


def test_a_new_namespace_gets_what_the_controller_manager_puts_there(cluster: Cluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})

    accounts = cluster.list("v1", "ServiceAccount", "team")
    config_maps = cluster.list("v1", "ConfigMap", "team")

    assert [a["metadata"]["name"] for a in accounts] == ["default"]
    assert [c["metadata"]["name"] for c in config_maps] == ["kube-root-ca.crt"]
    assert "ca.crt" in config_maps[0]["data"]
    # Written by the controller manager, not applied: no Apply entry in managedFields (the
    # ServiceAccount has none: its writer set no field but the name).
    assert [(m["manager"], m["operation"]) for m in config_maps[0]["metadata"]["managedFields"]] \
        == [("kube-controller-manager", "Update")]
    assert "managedFields" not in accounts[0]["metadata"]


def test_endpoint_slices_are_owned_by_their_service(cluster: Cluster) -> None:
    service = cluster.apply({"apiVersion": "v1", "kind": "Service",
                             "metadata": {"name": "checker", "namespace": "default"},
                             "spec": {"selector": {"app": "checker"}, "ports": [{"port": 80}]}})

    slices = cluster.list("discovery.k8s.io/v1", "EndpointSlice", "default",
                          {"kubernetes.io/service-name": "checker"})

    assert [(r["kind"], r["name"], r["uid"], r["controller"])
            for s in slices for r in s["metadata"]["ownerReferences"]] == [
        ("Service", "checker", service["metadata"]["uid"], True)]
    assert slices[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslice-controller.k8s.io"


def test_workloads_become_available_after_their_delay(cluster: Cluster) -> None:
    cluster.apply(CHECKER)
    first = cluster.get("apps/v1", "Deployment", "checker", "default")
    assert first is not None and first["status"].get("availableReplicas", 0) == 0

    _wait_until(lambda: (cluster.get("apps/v1", "Deployment", "checker", "default") or {})[
        "status"].get("availableReplicas") == 1)


def test_faults_are_injected_on_demand(cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.faults.rate = 1.0
    emulator.faults.kinds = ("500",)
    with pytest.raises(Unavailable, match="injected server error"):
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "a", "namespace": "default"}})
    assert cluster.get("v1", "Namespace", "default") is not None  # reads are not faulted


def test_runs_on_its_own_with_its_controllers_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    server = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--port", "0",
                               "--kubeconfig", str(kubeconfig), "--crd-delay", "0",
                               "--profile-controller", "--profile-delay", "0", "--jobs",
                               "--server-version", "1.35"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("serving http://127.0.0.1:")
        with Cluster.connect(kubeconfig) as cluster:
            assert cluster.get("v1", "Namespace", "kube-system") is not None
            assert cluster.server_version() == "1.35"
            crd = yaml.safe_load((MANIFESTS / "26.03/applications/profiles/upstream/crd/bases/"
                                  "kubeflow.org_profiles.yaml").read_text())
            cluster.apply(crd)
            cluster.learn_crds([crd])
            cluster.apply({"apiVersion": "kubeflow.org/v1", "kind": "Profile",
                           "metadata": {"name": "team-a"},
                           "spec": {"owner": {"kind": "User", "name": "a@example.com"}}})
            _wait_until(lambda: cluster.get("v1", "Namespace", "team-a") is not None)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout:
            server.stdout.close()
    assert server.returncode == 0


def test_a_failing_workload_has_a_pod_and_events_as_the_kubelet_reports_them(
        emulator: RunningEmulator, cluster: Cluster) -> None:
    emulator.state.settings.failing = {"default/web": "ImagePullBackOff"}
    emulator.state.settings.failing_for = 0.5
    cluster.apply({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                                "containers": [{"name": "web", "image": "example.com/web:1"}]}}}})

    [pod] = cluster.list("v1", "Pod", "default", {"app": "web"})
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "ImagePullBackOff",
                       "message": 'Back-off pulling image "example.com/web:1"'}
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    events = cluster.list("v1", "Event", "default")
    assert [e["reason"] for e in events] == ["Scheduled", "Pulling", "Failed", "Failed",
                                             "BackOff", "Failed"]
    assert all(e["involvedObject"]["name"] == pod["metadata"]["name"] for e in events)
    live = cluster.get("apps/v1", "Deployment", "web", "default")
    assert live is not None and live["status"]["availableReplicas"] == 0

    def recovered() -> bool:
        deployment = cluster.get("apps/v1", "Deployment", "web", "default")
        return deployment is not None and deployment["status"]["availableReplicas"] == 1

    _wait_until(recovered)
    [pod] = cluster.list("v1", "Pod", "default", {"app": "web"})
    assert pod["status"]["phase"] == "Running"
    assert [e["reason"] for e in cluster.list("v1", "Event", "default")][-1] == "Started"
    cluster.delete("apps/v1", "Deployment", "web", "default")
    assert cluster.list("v1", "Pod", "default") == []  # the pod goes with its owner


def _lease(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-system"}, "spec": spec}


def test_leases_are_validated_as_the_api_server_does(emulator: RunningEmulator) -> None:
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
    status, body = _request(emulator, "POST", path, _lease(
        "a", holderIdentity="x", leaseDurationSeconds=0, leaseTransitions=-1),
        "application/json")
    assert (status, body["reason"]) == (422, "Invalid")
    assert "spec.leaseDurationSeconds" in body["message"]
    assert "spec.leaseTransitions" in body["message"]
    status, body = _request(emulator, "POST", path, _lease(
        "a", holderIdentity="x", renewTime="yesterday"), "application/json")
    assert (status, body["reason"]) == (400, "BadRequest")
    status, _ = _request(emulator, "POST", path, _lease(
        "a", holderIdentity="x", leaseDurationSeconds=15,
        acquireTime="2025-01-02T03:04:05.123456Z", renewTime="2025-01-02T03:04:05.123456Z"),
        "application/json")
    assert status == 201


def test_a_lease_never_expires_on_its_own(cluster: Cluster) -> None:
    # Only holders and candidates compare renewTime with their clock; the server does not.
    cluster.create(_lease("b", holderIdentity="gone", leaseDurationSeconds=1,
                          renewTime="2000-01-01T00:00:00.000000Z"))
    lease = cluster.get("coordination.k8s.io/v1", "Lease", "b", "kube-system")
    assert lease is not None and lease["spec"]["holderIdentity"] == "gone"


def test_history_keeps_every_stored_change_in_order(cluster: Cluster,
                                                    emulator: RunningEmulator) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "s", "namespace": "default"}, "data": {"k": "MQ=="}}
    cluster.create(secret)
    cluster.apply(secret)  # no change: not a new version
    cluster.apply({**secret, "data": {"k": "Mg=="}})

    with emulator.lock:
        kept = [w.obj["data"]["k"] for w in emulator.state.history
                if w.key == ("", "secrets", "default", "s")]
    assert kept == ["MQ==", "Mg=="]
