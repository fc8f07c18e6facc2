"""The 26.03 local platform on a real control plane: apply, plan, re-apply, drift, prune,
an apply killed half-way, a switch to an S3 store and back, uninstall and --purge-data,
each as an administrator runs it.

The tests share one control plane and one install, and run in this order. Writes are
counted from the API server's audit log.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfops.cluster import Cluster
from kfops.config import load_platform
from kfops.objects import ApplySet
from kfops.operations import render_platform
from kfops.render import RenderOptions
from kfops.targets import starter_text
from tests.controlplane import ControlPlane
from tests.controlplane._run import Write
from tests.controlplane._webhookless import kustomize_wrapper
from tests.helpers import pipelines_sync
from tests.helpers.cli import kfops
from tests.helpers.presets import fill, offline
from tests.helpers.rest import Rest
from tests.realcluster._install import Install

pytestmark = pytest.mark.render
PARENT = ("secrets", "kube-system", ApplySet("lab").parent_name)
"""The install's ApplySet parent: kfops's bookkeeping, not a bundle object."""


class Lab(Install):
    """One install on the control plane, and a raw client to look at it."""

    def run(self, *argv: str, offline: bool = True) -> tuple[int, str, str]:
        return kfops(*argv, "-f", str(self.path), "--kubeconfig", str(self.plane.kubeconfig),
                     *(["--offline"] if offline else []))

    def objects(self) -> list[dict[str, Any]]:
        """The objects the platform file renders to now (without webhooks)."""
        result = render_platform(load_platform(self.path), RenderOptions(offline=True))
        return [item.obj for item in result.bundle.objects]

    def key(self, obj: dict[str, Any]) -> tuple[str, str, str]:
        resource = self.rest.resource(obj["apiVersion"], obj["kind"])
        namespace = obj["metadata"].get("namespace", "") if resource.namespaced else ""
        return resource.plural, namespace, obj["metadata"]["name"]

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> Any:
        obj = {"apiVersion": api_version, "kind": kind,
               "metadata": {"name": name, "namespace": namespace}}
        answer = self.rest.get(obj)
        return answer.json() if answer.status_code == 200 else None


def object_writes(writes: list[Write]) -> list[Write]:
    """Writes to objects, without kfops's Lease and ApplySet parent."""
    return [w for w in writes if w.resource != "leases" and key_of(w) != PARENT]


def key_of(write: Write) -> tuple[str, str, str]:
    """(resource, namespace, name); the audit log gives a Namespace itself as its namespace."""
    namespace = "" if write.resource == "namespaces" else write.namespace
    return write.resource, namespace, write.name


@pytest.fixture(scope="module")
def lab(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory,
        webhookless_cache: Path) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("lab")
    path = folder / "platform.yaml"
    path.write_text(offline(fill(starter_text("local")), "26.03"))
    rest = Rest.from_kubeconfig(control_plane.kubeconfig)
    yield Lab(path, control_plane, rest, kustomize_wrapper(folder / "tools").parent)
    rest.close()


@pytest.fixture(autouse=True)
def without_webhooks(lab: Lab, webhookless_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFOPS_KUSTOMIZE", str(lab.tools / "kustomize"))
    monkeypatch.setenv("KFOPS_CACHE_DIR", str(webhookless_cache))


def test_first_apply_writes_each_object_once_and_workloads_become_available(lab: Lab) -> None:
    before = len(lab.plane.writes())
    code, _out, err = lab.run("apply", "--timeout", "300")
    assert code == 0, err
    objects = lab.objects()
    writes = object_writes(lab.plane.writes()[before:])
    per_object = Counter(key_of(w) for w in writes)
    expected = {lab.key(o) for o in objects}
    assert {k: n for k, n in per_object.items() if n != 1} == {}
    assert set(per_object) == expected
    assert all(w.code in (200, 201) for w in writes)
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            live = lab.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"],
                           obj["metadata"]["namespace"])
            wanted = live["spec"].get("replicas", 1)
            assert live["status"].get("availableReplicas", 0) == wanted, obj["metadata"]


def test_plan_after_apply_finds_nothing_to_do(lab: Lab) -> None:
    code, out, err = lab.run("plan", "-v")
    assert code == 0, out + err
    assert " 0 update" in out or "0 create, 0 update" in out


def test_reapply_writes_no_object(lab: Lab) -> None:
    before = len(lab.plane.writes())
    code, _out, err = lab.run("apply", "--timeout", "300")
    assert code == 0, err
    assert object_writes(lab.plane.writes()[before:]) == []


def test_drift_is_planned_then_repaired(lab: Lab) -> None:
    cache = {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "cache-server", "namespace": "kubeflow"}}
    patched = lab.rest.client.patch(lab.rest.path(cache), params={"fieldManager": "kubectl-edit"},
                                    json={"spec": {"replicas": 3}},
                                    headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    katib_ui = {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "katib-ui", "namespace": "kubeflow"}}
    assert lab.rest.delete(katib_ui).status_code == 200
    code, out, _ = lab.run("plan", "-v")
    assert code == 3
    assert "update   Deployment kubeflow/cache-server" in out
    assert "spec.replicas: 3 -> 1" in out
    assert "create   Service kubeflow/katib-ui" in out
    code, _, err = lab.run("apply", "--timeout", "300")
    assert code == 0, err
    assert lab.get("apps/v1", "Deployment", "cache-server", "kubeflow")["spec"]["replicas"] == 1
    assert lab.get("v1", "Service", "katib-ui", "kubeflow") is not None
    assert lab.run("plan")[0] == 0


def test_a_component_switched_off_is_pruned_and_its_pvc_kept(lab: Lab) -> None:
    lab.path.write_text(lab.path.read_text().replace(
        "  # components:                   # left out", "  components:\n    katib: false\n"
        "  # components left out", 1))
    code, _out, err = lab.run("apply", "--timeout", "300")
    assert code == 0, err
    assert lab.get("apps/v1", "Deployment", "katib-controller", "kubeflow") is None
    assert lab.get("v1", "Service", "katib-ui", "kubeflow") is None
    assert lab.get("v1", "PersistentVolumeClaim", "katib-mysql", "kubeflow") is not None
    assert lab.run("plan")[0] == 0


_KILLABLE_APPLY = """
import sys
from pathlib import Path
from kfops.cluster import ApplyOptions, Cluster, LeaseSettings
from kfops.cluster import Cluster
from kfops.config import load_platform
from kfops.operations import apply_platform
from kfops.render import RenderOptions
# a short Lease, so the apply that follows this killed one need not wait a minute for it
with Cluster.connect(Path(sys.argv[2])) as cluster:
    apply_platform(load_platform(Path(sys.argv[1])), cluster,
                   ApplyOptions(lease=LeaseSettings(duration=4, renew=1)),
                   render_options=RenderOptions(offline=True))
"""


def test_an_apply_killed_half_way_converges_when_run_again(lab: Lab) -> None:
    lab.path.write_text(lab.path.read_text().replace("    katib: false\n", "    katib: true\n"))
    start = lab.plane.audit_size()
    process = subprocess.Popen([sys.executable, "-c", _KILLABLE_APPLY, str(lab.path),
                                str(lab.plane.kubeconfig)])
    deadline = time.monotonic() + 120
    # Katib's CRDs come first, then kfops waits for them to be Established: killed at its
    # first writes, the apply has not sent Katib's other objects yet.
    while not object_writes(lab.plane.writes(after=start)):
        assert process.poll() is None, "the apply ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert lab.run("plan")[0] == 3, "killed too late: nothing was left to do"
    code, _, err = lab.run("apply", "--timeout", "300")
    assert code == 0, err
    assert lab.get("apps/v1", "Deployment", "katib-controller", "kubeflow") is not None
    assert lab.run("plan")[0] == 0


_S3 = ("  objectStore:\n    type: s3\n    endpoint: https://s3.storage.internal:9443\n"
       "    bucket: kubeflow\n    credentials: {accessKey: {env: KFP_S3_ACCESS_KEY}, "
       "secretKey: {env: KFP_S3_SECRET_KEY}}\n")


def test_switching_to_an_s3_store_replaces_what_the_controller_wrote(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_S3_ACCESS_KEY", "AKIAKFOPSREALCLUSTER")
    monkeypatch.setenv("KFP_S3_SECRET_KEY", "s3-secret-of-the-real-cluster-test")
    with Cluster.connect(lab.plane.kubeconfig) as cluster, \
            pipelines_sync.release_server() as server:
        cluster.create(pipelines_sync.pipelines_namespace("team-s3"))
        for obj in pipelines_sync.release_objects(server, "team-s3"):
            cluster.create(obj)
    in_cluster = lab.path.read_text()
    lab.path.write_text(in_cluster + _S3)
    code, out, err = lab.run("plan", "-o", "json")
    replaced = sorted(o["object"] for o in json.loads(out)["objects"]
                      if o["action"] == "replace")
    assert (code, replaced) == (3, ["ConfigMap team-s3/artifact-repositories",
                                    "ConfigMap team-s3/kfp-launcher",
                                    "Secret team-s3/mlpipeline-minio-artifact"]), err
    code, out, err = lab.run("apply", "--timeout", "300", "-o", "json")
    assert code == 0, err
    assert sorted(json.loads(out)["replaced"]) == replaced
    assert lab.get("v1", "ConfigMap", "kfp-launcher", "team-s3") is None
    assert lab.get("v1", "ConfigMap", "metadata-grpc-configmap", "team-s3") is not None
    assert lab.get("apps/v1", "Deployment", "seaweedfs", "kubeflow") is None
    assert lab.get("v1", "PersistentVolumeClaim", "seaweedfs-pvc", "kubeflow") is not None
    assert lab.run("plan")[0] == 0
    lab.path.write_text(in_cluster)
    assert lab.run("apply", "--timeout", "300")[0] == 0
    assert lab.get("apps/v1", "Deployment", "seaweedfs", "kubeflow") is not None
    assert lab.run("plan")[0] == 0


def test_uninstall_keeps_pvcs_profiles_and_user_namespaces(lab: Lab) -> None:
    assert lab.run("profile", "create", "team-a", "--owner", "admin@example.com")[0] == 0
    assert lab.run("apply", "--timeout", "300")[0] == 0
    profile = lab.get("kubeflow.org/v1", "Profile", "team-a")
    # Kubeflow's profile controller makes the namespace, owned by the Profile
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "team-a", "labels": {"app.kubernetes.io/part-of": "kubeflow-profile"},
        "ownerReferences": [{"apiVersion": "kubeflow.org/v1", "kind": "Profile",
                             "name": "team-a", "uid": profile["metadata"]["uid"],
                             "controller": True, "blockOwnerDeletion": True}]}}
    assert lab.rest.create(namespace).status_code == 201
    notebook_pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "workspace", "namespace": "team-a"},
                    "spec": {"accessModes": ["ReadWriteOnce"],
                             "resources": {"requests": {"storage": "1Gi"}}}}
    assert lab.rest.create(notebook_pvc).status_code == 201
    code, out, err = lab.run("uninstall", "--yes", offline=False)
    assert code == 0, out + err
    assert lab.get("apps/v1", "Deployment", "ml-pipeline", "kubeflow") is None
    assert lab.get("v1", "Namespace", "knative-serving") is None  # the namespace controller
    assert lab.get("kubeflow.org/v1", "Profile", "team-a") is not None
    assert lab.get("v1", "Namespace", "team-a") is not None
    assert lab.get("v1", "PersistentVolumeClaim", "workspace", "team-a") is not None
    for claim in ("katib-mysql", "mysql-pv-claim", "seaweedfs-pvc"):
        assert lab.get("v1", "PersistentVolumeClaim", claim, "kubeflow") is not None, claim


def test_purge_data_removes_them(lab: Lab) -> None:
    code, out, err = lab.run("uninstall", "--yes", "--purge-data", "--purge-foreign",
                                offline=False)
    assert code == 0, out + err
    deadline = time.monotonic() + 120
    while lab.get("v1", "Namespace", "team-a") is not None:  # the garbage collector's work
        assert time.monotonic() < deadline, "team-a was not deleted"
        time.sleep(0.5)
    assert lab.get("kubeflow.org/v1", "Profile", "team-a") is None
    assert lab.get("v1", "PersistentVolumeClaim", "katib-mysql", "kubeflow") is None
    assert lab.get("v1", "Namespace", "kubeflow") is None
