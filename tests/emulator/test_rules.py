"""The emulator keeps the API-server rules kfops relies on (each rule of _state, checked)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
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


def test_webhook_without_a_ready_endpoint_refuses_what_it_intercepts(
        cluster: Cluster, emulator: RunningEmulator) -> None:
    # Long enough that a loaded machine cannot make the checker available before the write
    # below (the fixture's 0.1 s could pass between two requests).
    emulator.state.settings.workload_delay = 1.0
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
    # zero counts are left out (omitempty), as the deployment controller reports them
    assert live is not None and "availableReplicas" not in live["status"]
    assert live["status"]["unavailableReplicas"] == 1

    def recovered() -> bool:
        deployment = cluster.get("apps/v1", "Deployment", "web", "default")
        return deployment is not None and deployment["status"].get("availableReplicas") == 1

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


# ---- updates against the old object, storage versions, deletion propagation ---------------

MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"


def _apply(emulator: RunningEmulator, path: str, body: dict[str, Any],
           dry_run: bool = False) -> tuple[int, dict[str, Any]]:
    query = "?fieldManager=test&force=true" + ("&dryRun=All" if dry_run else "")
    return _request(emulator, "PATCH", path + query, body, APPLY)


def _deployment(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "m", "image": "x:1"}]}}}}


def test_an_update_may_not_change_an_immutable_field(emulator: RunningEmulator) -> None:
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    assert _apply(emulator, path, _deployment("web", {"app": "web"}))[0] == 201
    moved = _deployment("web", {"app": "web", "tier": "x"})

    for dry_run in (True, False):  # a dry run is validated as a write
        status, answer = _apply(emulator, path, moved, dry_run=dry_run)
        assert (status, answer["reason"]) == (422, "Invalid")
        assert answer["message"] == (
            'Deployment.apps "web" is invalid: spec.selector: Invalid value: '
            '{"matchLabels":{"app":"web","tier":"x"}}: field is immutable')
        assert answer["details"] == {"name": "web", "group": "apps", "kind": "Deployment",
                                     "causes": [{
                                         "reason": "FieldValueInvalid", "field": "spec.selector",
                                         "message": 'Invalid value: {"matchLabels":{"app":"web",'
                                                    '"tier":"x"}}: field is immutable'}]}
    # a merge patch and a PUT are refused alike; the object is untouched
    status, _ = _request(emulator, "PATCH", path,
                         {"spec": {"selector": {"matchLabels": {"z": "1"}}}}, MERGE)
    assert status == 422
    assert _request(emulator, "PUT", path, moved, "application/json")[0] == 422
    kept = emulator.state.objects[("apps", "deployments", "default", "web")].obj
    assert kept["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    # what may change still does
    assert _apply(emulator, path, {**_deployment("web", {"app": "web"}),
                                   "spec": {**_deployment("web", {"app": "web"})["spec"],
                                            "replicas": 3}})[0] == 200


def test_each_kind_words_what_may_not_change(emulator: RunningEmulator) -> None:
    core, rbac = "/api/v1/namespaces/default", \
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default"
    sts: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "db", "namespace": "default"},
           "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "m", "image": "x:1"}]}}}}
    binding: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "rb", "namespace": "default"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                           "name": "one"}}
    claim: dict[str, Any] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "data", "namespace": "default"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    frozen: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "frozen", "namespace": "default"},
              "data": {"a": "1"}, "immutable": True}
    job: dict[str, Any] = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "j", "namespace": "default"},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "m", "image": "x:1"}]}}}}
    cases: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
        ("/apis/apps/v1/namespaces/default/statefulsets/db", sts,
         {"spec": {**sts["spec"], "serviceName": "db2"}},
         "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for "
         "fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
         "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
         "are forbidden"),
        (f"{rbac}/rolebindings/rb", binding,
         {"roleRef": {**binding["roleRef"], "kind": "ClusterRole", "name": "two"}},
         'RoleBinding.rbac.authorization.k8s.io "rb" is invalid: roleRef: Invalid value: '
         '{"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"two"}: '
         "cannot change roleRef"),
        (f"{core}/persistentvolumeclaims/data", claim,
         {"spec": {**claim["spec"], "accessModes": ["ReadWriteMany"]}},
         'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after '
         "creation except resources.requests and volumeAttributesClassName for bound claims\n"),
        (f"{core}/configmaps/frozen", frozen, {"data": {"a": "2"}, "immutable": None},
         'ConfigMap "frozen" is invalid: [immutable: Forbidden: field is immutable when '
         "`immutable` is set, data: Forbidden: field is immutable when `immutable` is set]"),
        ("/apis/batch/v1/namespaces/default/jobs/j", job, {"spec": {"completions": 3}},
         'Job.batch "j" is invalid: spec.completions: Invalid value: 3: field is immutable'),
    ]
    for path, created, change, message in cases:
        assert _apply(emulator, path, created)[0] == 201, path
        status, answer = _request(emulator, "PATCH", path, change, MERGE)
        assert status == 422, path
        assert answer["message"].startswith(message), answer["message"]
    # a Bound claim may grow; `immutable` may be set together with a last change
    emulator.state.report_status(("", "persistentvolumeclaims", "default", "data"),
                                 {"phase": "Bound"})
    grown = {"spec": {"resources": {"requests": {"storage": "2Gi"}},
                      "storageClassName": "expandable"}}
    status, answer = _request(emulator, "PATCH", f"{core}/persistentvolumeclaims/data", grown,
                              MERGE)
    assert (status, answer["reason"]) == (422, "Invalid")  # the class is part of the spec
    grown["spec"].pop("storageClassName")
    status, answer = _request(emulator, "PATCH", f"{core}/persistentvolumeclaims/data", grown,
                              MERGE)
    assert (status, answer["message"]) == (403, (
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be '
        "resized and the storageclass that provisions the pvc must support resize"))
    expandable = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                  "metadata": {"name": "expandable"}, "provisioner": "example.com/disks",
                  "allowVolumeExpansion": True}
    _apply(emulator, "/apis/storage.k8s.io/v1/storageclasses/expandable", expandable)
    resizable = {**claim, "metadata": {"name": "resizable", "namespace": "default"},
                 "spec": {**claim["spec"], "storageClassName": "expandable"}}
    assert _apply(emulator, f"{core}/persistentvolumeclaims/resizable", resizable)[0] == 201
    emulator.state.report_status(("", "persistentvolumeclaims", "default", "resizable"),
                                 {"phase": "Bound"})
    assert _request(emulator, "PATCH", f"{core}/persistentvolumeclaims/resizable", grown,
                    MERGE)[0] == 200
    thawed = {**frozen, "metadata": {"name": "thawed", "namespace": "default"}}
    thawed.pop("immutable")
    assert _apply(emulator, f"{core}/configmaps/thawed", thawed)[0] == 201
    assert _apply(emulator, f"{core}/configmaps/thawed",
                  {**thawed, "data": {"a": "9"}, "immutable": True})[0] == 200


def test_a_service_gets_a_cluster_ip_that_never_changes(cluster: Cluster,
                                                        emulator: RunningEmulator) -> None:
    def service(name: str, **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}

    web = cluster.apply(service("web"))
    other = cluster.apply(service("other"))
    headless = cluster.apply(service("headless", clusterIP="None"))
    address = web["spec"]["clusterIP"]
    assert web["spec"]["clusterIPs"] == [address]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.96.0.0/12")
    assert other["spec"]["clusterIP"] != address
    assert headless["spec"]["clusterIPs"] == ["None"]
    # an apply that leaves it out keeps it
    again = cluster.apply(service("web", ports=[{"port": 81}]))
    assert again["spec"]["clusterIP"] == address

    path = "/api/v1/namespaces/default/services/web"
    status, answer = _apply(emulator, path, service("web", clusterIP="None"), dry_run=True)
    assert (status, answer["message"]) == (422, 'Service "web" is invalid: spec.clusterIPs[0]: '
                                                'Invalid value: ["None"]: may not change once set')
    taken = _apply(emulator, "/api/v1/namespaces/default/services/copy",
                   service("copy", clusterIP=address))
    assert taken[0] == 422
    assert taken[1]["message"].endswith(f"failed to allocate IP {address}: provided IP is "
                                        "already allocated")


def _versioned_crd(*versions: str, storage: str) -> dict[str, Any]:
    return {**CRD, "spec": {**CRD["spec"], "versions": [
        {"name": v, "served": True, "storage": v == storage,
         "schema": {"openAPIV3Schema": {"type": "object"}}} for v in versions]}}


def test_crd_stored_versions_and_storage_migration(emulator: RunningEmulator) -> None:
    emulator.state.settings.crd_delay = 0
    crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
    widgets = "/apis/example.com/{}/namespaces/default/widgets/w"
    assert _apply(emulator, crd_path, _versioned_crd("v1alpha1", storage="v1alpha1"))[0] == 201
    widget = {"apiVersion": "example.com/v1alpha1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": "default"}, "spec": {"size": 1}}
    assert _apply(emulator, widgets.format("v1alpha1"), widget)[0] == 201

    status, moved = _apply(emulator, crd_path, _versioned_crd("v1alpha1", "v1", storage="v1"))
    assert (status, moved["status"]["storedVersions"]) == (200, ["v1alpha1", "v1"])
    assert emulator.state.stored_versions("example.com", "widgets") == {"default/w": "v1alpha1"}
    # dropping v1alpha1 while it may still hold data is refused (a dry run too)
    status, refused = _apply(emulator, crd_path, _versioned_crd("v1", storage="v1"), dry_run=True)
    assert (status, refused["details"]["causes"][0]["field"]) == (422, "status.storedVersions[0]")
    assert refused["message"].endswith('status.storedVersions[0]: Invalid value: "v1alpha1": '
                                       "missing from spec.versions; v1alpha1 was previously a "
                                       "storage version, and must remain in spec.versions until "
                                       "a storage migration ensures no data remains persisted in "
                                       "v1alpha1 and removes v1alpha1 from status.storedVersions")

    # the migration: a write changing nothing but the version stores it in v1 (a new version)
    _, read = _request(emulator, "GET", widgets.format("v1"), {}, MERGE)
    status, written = _request(emulator, "PUT", widgets.format("v1"), read, "application/json")
    assert status == 200
    assert written["metadata"]["resourceVersion"] != read["metadata"]["resourceVersion"]
    assert emulator.state.stored_versions("example.com", "widgets") == {"default/w": "v1"}
    # then the list is trimmed through the status subresource
    status, trimmed = _request(emulator, "PATCH", crd_path + "/status",
                               {"status": {"storedVersions": ["v1"]}}, MERGE)
    assert (status, trimmed["status"]["storedVersions"]) == (200, ["v1"])
    assert _request(emulator, "GET", crd_path + "/status", {}, MERGE)[1]["status"][
        "storedVersions"] == ["v1"]
    assert _apply(emulator, crd_path, _versioned_crd("v1", storage="v1"))[0] == 200
    # an empty list becomes the storage version; the spec of a status write is ignored
    status, put = _request(emulator, "PUT", crd_path + "/status",
                           {**_versioned_crd("v9", storage="v9"), "status": {}},
                           "application/json")
    assert (status, put["status"]["storedVersions"], put["spec"]["versions"][0]["name"]) == (
        200, ["v1"], "v1")


def _owned_map(name: str, owner: dict[str, Any], block: bool = False) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": "default", "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], **({"blockOwnerDeletion": True} if block else {})}]}}


def test_deletion_propagation_orphans_or_waits_as_asked(cluster: Cluster,
                                                        emulator: RunningEmulator) -> None:
    base = "/api/v1/namespaces/default/configmaps/"
    for how, query, body in (("query", "?propagationPolicy=Orphan", {}),
                             ("body", "", {"kind": "DeleteOptions", "apiVersion": "v1",
                                           "propagationPolicy": "Orphan"}),
                             ("legacy", "", {"orphanDependents": True})):
        owner = cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": f"owner-{how}", "namespace": "default"}})
        kept = cluster.apply(_owned_map(f"kept-{how}", owner))
        status, answer = _request(emulator, "DELETE", base + f"owner-{how}{query}", body, MERGE)
        assert (status, answer["metadata"]["finalizers"]) == (200, ["orphan"])
        assert cluster.get("v1", "ConfigMap", f"owner-{how}", "default") is None
        left = cluster.get("v1", "ConfigMap", f"kept-{how}", "default")
        assert left is not None and "ownerReferences" not in left["metadata"], how
        assert left["metadata"]["resourceVersion"] != kept["metadata"]["resourceVersion"]

    # Foreground: the owner stays until its blocking dependents are gone
    owner = cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "owner", "namespace": "default"}})
    held = {**_owned_map("held", owner, block=True)}
    held["metadata"]["finalizers"] = ["example.com/hold"]
    cluster.apply(held)
    status, _ = _request(emulator, "DELETE", base + "owner?propagationPolicy=Foreground", {},
                         MERGE)
    waiting = cluster.get("v1", "ConfigMap", "owner", "default")
    assert waiting is not None and waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    cluster.merge_patch("v1", "ConfigMap", "held", {"metadata": {"finalizers": None}},
                        "default")
    assert cluster.get("v1", "ConfigMap", "owner", "default") is None

    status, answer = _request(emulator, "DELETE", base + "kept-query?propagationPolicy=Sideways",
                              {}, MERGE)
    assert (status, answer["details"]["causes"][0]["reason"]) == (422, "FieldValueNotSupported")


def test_a_job_deleted_without_a_policy_keeps_its_pods(cluster: Cluster,
                                                       emulator: RunningEmulator) -> None:
    job = cluster.apply({"apiVersion": "batch/v1", "kind": "Job",
                         "metadata": {"name": "j", "namespace": "default"},
                         "spec": {"template": {"spec": {"containers": [
                             {"name": "m", "image": "x:1"}], "restartPolicy": "Never"}}}})
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "j-abcde", "namespace": "default", "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": "j",
            "uid": job["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]},
           "spec": {"containers": [{"name": "m", "image": "x:1"}]}}
    cluster.apply(pod)
    request = urllib.request.Request(emulator.url + "/apis/batch/v1/namespaces/default/jobs/j",
                                     method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Warning"].startswith(
            '299 - "child pods are preserved by default when jobs are deleted')
    left = cluster.get("v1", "Pod", "j-abcde", "default")
    assert left is not None and "ownerReferences" not in left["metadata"]
    # kfops asks for the pods to go with the Job (Background), and they do
    job = cluster.apply({**job, "metadata": {"name": "k", "namespace": "default"}})
    cluster.apply({**pod, "metadata": {**pod["metadata"], "name": "k-abcde", "ownerReferences": [
        {**pod["metadata"]["ownerReferences"][0], "name": "k", "uid": job["metadata"]["uid"]}]}})
    cluster.delete("batch/v1", "Job", "k", "default", dependents=True)
    assert cluster.get("v1", "Pod", "k-abcde", "default") is None


def test_a_deployment_scaled_to_zero_stays_available_and_its_pods_go(
        cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.state.settings.failing = {"default/broken": "CrashLoopBackOff"}
    cluster.apply(_deployment("web", {"app": "web"}))
    cluster.apply(_deployment("broken", {"app": "broken"}))
    _wait_until(lambda: (cluster.get("apps/v1", "Deployment", "web", "default") or {})[
        "status"].get("availableReplicas") == 1)
    assert cluster.list("v1", "Pod", "default", {"app": "broken"})

    for name in ("web", "broken"):
        scaled = _deployment(name, {"app": name})
        scaled["spec"]["replicas"] = 0
        cluster.apply(scaled)

    live = cluster.get("apps/v1", "Deployment", "web", "default")
    assert live is not None
    assert live["status"] == {"observedGeneration": 2, "terminatingReplicas": 0, "conditions": [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
         "message": "Deployment has minimum availability."}]}
    assert cluster.list("v1", "Pod", "default", {"app": "broken"}) == []
    broken = cluster.get("apps/v1", "Deployment", "broken", "default")
    assert broken is not None and broken["status"]["conditions"][0]["status"] == "True"


def test_an_orphaning_delete_of_a_stateful_set_keeps_its_pods_and_claims(
        cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.state.settings.statefulset_pods = True
    sts: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "m", "image": "x:1"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                     "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}]}}
    first = cluster.apply(sts)
    pods = cluster.list("v1", "Pod", "default", {"app": "db"})
    claims = cluster.list("v1", "PersistentVolumeClaim", "default", {"app": "db"})
    assert [p["metadata"]["name"] for p in pods] == ["db-0", "db-1"]
    assert [c["metadata"]["name"] for c in claims] == ["data-db-0", "data-db-1"]
    assert all("ownerReferences" not in c["metadata"] for c in claims)  # whenDeleted: Retain
    assert pods[0]["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {
        "claimName": "data-db-0"}}]

    # a changed serviceName is a delete and recreate, orphaning what runs
    sts["spec"]["serviceName"] = "db-headless"
    with pytest.raises(ClusterError, match="updates to statefulset spec"):
        cluster.apply(sts)
    status, _ = _request(emulator, "DELETE", "/apis/apps/v1/namespaces/default/statefulsets/db"
                         "?propagationPolicy=Orphan", {}, MERGE)
    assert status == 200
    kept = cluster.list("v1", "Pod", "default", {"app": "db"})
    assert [("ownerReferences" in p["metadata"]) for p in kept] == [False, False]
    assert len(cluster.list("v1", "PersistentVolumeClaim", "default", {"app": "db"})) == 2

    second = cluster.apply(sts)
    adopted = cluster.list("v1", "Pod", "default", {"app": "db"})
    assert [p["metadata"]["ownerReferences"][0]["uid"] for p in adopted] == [
        second["metadata"]["uid"]] * 2 != [first["metadata"]["uid"]] * 2
    # scaled down, a pod goes and its claim stays
    cluster.apply({**sts, "spec": {**sts["spec"], "replicas": 1}})
    assert [p["metadata"]["name"] for p in cluster.list("v1", "Pod", "default",
                                                        {"app": "db"})] == ["db-0"]
    assert len(cluster.list("v1", "PersistentVolumeClaim", "default", {"app": "db"})) == 2


def test_every_request_is_recorded_with_its_query_reads_and_writes_apart(
        emulator: RunningEmulator, cluster: Cluster) -> None:
    for path in ("/version", "/api", "/apis", "/apis/apps/v1",
                 "/api/v1/namespaces/default/configmaps?labelSelector=a%3Db&limit=5"):
        with urllib.request.urlopen(emulator.url + path, timeout=10) as answer:
            assert answer.status == 200
    recorded = [(r.method, r.path, r.query, r.status) for r in emulator.state.requests]
    assert recorded[-5:] == [("GET", "/version", "", 200), ("GET", "/api", "", 200),
                             ("GET", "/apis", "", 200), ("GET", "/apis/apps/v1", "", 200),
                             ("GET", "/api/v1/namespaces/default/configmaps",
                              "labelSelector=a%3Db&limit=5", 200)]
    assert emulator.non_reads() == []

    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "a", "namespace": "default"}}, dry_run=True)
    assert emulator.writes() == []  # a dry run is not a write...
    [dry] = emulator.non_reads()  # ...but a read-only command must not send one either
    assert (dry.method, dry.dry_run, dry.query.count("dryRun=All")) == ("PATCH", True, 1)
    _apply(emulator, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l",
           _lease("l", leaseDurationSeconds=10))
    assert emulator.writes() == [] and len(emulator.non_reads()) == 2


def _names(emulator: RunningEmulator, path: str, fields: str) -> list[str] | int:
    query = urllib.parse.urlencode({"fieldSelector": fields})
    try:
        with urllib.request.urlopen(f"{emulator.url}{path}?{query}", timeout=10) as answer:
            return [i["metadata"]["name"] for i in json.loads(answer.read())["items"]]
    except urllib.error.HTTPError as error:
        with error:
            return error.code


def test_field_selectors_pick_events_and_pods_by_their_fields(
        emulator: RunningEmulator, cluster: Cluster) -> None:
    emulator.state.settings.failing = {"default/web": "CrashLoopBackOff",
                                       "default/db": "Unschedulable"}
    for name in ("web", "db"):
        cluster.apply(_deployment(name, {"app": name}))
    [web] = cluster.list("v1", "Pod", "default", {"app": "web"})
    [db] = cluster.list("v1", "Pod", "default", {"app": "db"})
    events, pods = "/api/v1/namespaces/default/events", "/api/v1/namespaces/default/pods"

    warnings = _names(emulator, events, f"involvedObject.name={web['metadata']['name']},"
                                        "type=Warning")
    assert isinstance(warnings, list) and len(warnings) == 1
    [back_off] = [e for e in cluster.list("v1", "Event", "default")
                  if e["metadata"]["name"] == warnings[0]]
    assert back_off["reason"] == "BackOff"
    scheduler = _names(emulator, events, "source=default-scheduler,reason!=Scheduled")
    assert isinstance(scheduler, list) and len(scheduler) == 1  # db's FailedScheduling
    assert _names(emulator, pods, "status.phase=Pending") == [db["metadata"]["name"]]
    assert _names(emulator, pods, "status.phase=Running,status.podIP=10.0.1.9,"
                                  "spec.serviceAccountName=default") == [web["metadata"]["name"]]
    assert _names(emulator, pods, "spec.hostNetwork=false,metadata.name!=x") == sorted(
        [web["metadata"]["name"], db["metadata"]["name"]])
    assert _names(emulator, pods, "status.hostIP=10.0.0.2") == 400  # not selectable
    assert _names(emulator, events, "reason=a\\,b") == []  # an escaped comma is the value's


def _log(emulator: RunningEmulator, pod: str, **params: str) -> tuple[int, str]:
    query = urllib.parse.urlencode(params)
    url = f"{emulator.url}/api/v1/namespaces/default/pods/{pod}/log?{query}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())["message"]


def test_pod_logs_are_served_per_container_as_the_kubelet_serves_them(
        emulator: RunningEmulator, cluster: Cluster) -> None:
    settings = emulator.state.settings
    settings.failing = {"default/crash": "CrashLoopBackOff", "default/pull": "ImagePullBackOff",
                        "default/pending": "Unschedulable"}
    settings.logs = {"default/crash": "starting\nwatching /etc/config\nfailed to create "
                                      "fsnotify watcher: too many open files\n"}
    for name in ("crash", "pull", "pending"):
        cluster.apply(_deployment(name, {"app": name}))
    crash, pull, pending = (cluster.list("v1", "Pod", "default", {"app": name})[0]["metadata"]
                            ["name"] for name in ("crash", "pull", "pending"))

    # a crashing container's last run, whole, its tail, or as the previous instance
    assert _log(emulator, crash) == (200, settings.logs["default/crash"])
    assert _log(emulator, crash, tailLines="1") == (
        200, "failed to create fsnotify watcher: too many open files\n")
    assert _log(emulator, crash, container="m", previous="true", tailLines="2")[1].startswith(
        "watching")
    assert cluster.pod_log(crash, "default", tail_lines=1).endswith("too many open files\n")
    assert _log(emulator, pull) == (400, f'container "m" in pod "{pull}" is waiting to start: '
                                         "trying and failing to pull image")
    assert _log(emulator, pull, previous="true") == (
        400, f'previous terminated container "m" in pod "{pull}" not found')
    assert _log(emulator, pending) == (204, "")
    assert _log(emulator, crash, container="x") == (400, f"container x is not valid for pod "
                                                         f"{crash}")
    assert _log(emulator, crash, tailLines="-2")[0] == 422

    emulator.state.deny("get", "pods/log", "default")
    assert _log(emulator, crash) == (403, f'pods "{crash}" is forbidden: User "emulator" cannot '
                                          'get resource "pods/log" in API group "" in the '
                                          'namespace "default"')
    assert cluster.get("v1", "Pod", crash, "default") is not None  # the pod itself is readable


def test_an_unschedulable_workload_reads_what_the_scheduler_says_of_its_requests(
        emulator: RunningEmulator, cluster: Cluster) -> None:
    emulator.state.settings.failing = {"default/train": "Unschedulable",
                                       "default/web": "Unschedulable"}
    train = _deployment("train", {"app": "train"})
    train["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "limits": {"nvidia.com/gpu": "1"}}
    cluster.apply(train)
    cluster.apply(_deployment("web", {"app": "web"}))

    def said(app: str) -> str:
        [pod] = cluster.list("v1", "Pod", "default", {"app": app})
        [condition] = pod["status"]["conditions"]
        return str(condition["message"])

    # no Node stored: the one implied node, which has no GPU; a pod that would fit finds it full
    assert said("train") == (
        "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. no new claims to deallocate, "
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
    assert said("web") == (
        "0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
    [event] = [e for e in cluster.list("v1", "Event", "default")
               if e["involvedObject"]["name"].startswith("train")]
    assert (event["reason"], event["message"]) == ("FailedScheduling", said("train"))

    # with Nodes stored, they are what the scheduler counts
    for name in ("cpu-1", "cpu-2"):
        cluster.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        emulator.state.report_status(("", "nodes", "", name),
                                     {"allocatable": {"cpu": "4", "memory": "16Gi"}})
    cluster.delete("apps/v1", "Deployment", "train", "default")
    cluster.apply(train)
    assert said("train").startswith("0/2 nodes are available: 2 Insufficient nvidia.com/gpu. ")
