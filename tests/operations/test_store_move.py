"""The upgrade's data move (MinIO of v1.10.2 → SeaweedFS of 26.03), decided from the real
renders of both releases and run on the emulator.

The emulator runs no program: the copy Job's pod ends with the exit code and log a test
gives (`Settings.job_results`). The log of the successful move is what the copy script
printed when it really copied between two S3 servers (moto); the other logs are the
script's own summary of a planted mismatch or error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfops.cluster import Cluster, WaitSettings
from kfops.config import load_platform
from kfops.errors import OperationError, WaitTimeout
from kfops.objects import PART_OF
from kfops.operations import move_store_data, render_platform
from kfops.render import RenderOptions
from kfops.storage import StoreMove, decide_store_move
from kfops.storage import _store_copy_script as script
from kfops.validate import validate_objects
from tests.conftest import FAST_WAITS, MANIFESTS, REMOTE_CACHE, UPSTREAM
from tests.emulator import RunningEmulator
from tests.helpers.s3_server import S3Server, running_moto

Objects = list[dict[str, Any]]
QUICK = WaitSettings(timeout=1, interval=0.02, failure_grace=0)
_AZURE = """\
  objectStore:
    type: azureBlob
    azureBlob: {account: kfpartifacts, container: kfp-artifacts, key: {env: KFP_AZURE_KEY}}
"""
_S3 = """\
  objectStore:
    type: s3
    endpoint: https://s3.lab.internal:9443
    bucket: kfp-artifacts
    credentials: {accessKey: {env: KFP_S3_ACCESS_KEY}, secretKey: {env: KFP_S3_SECRET_KEY}}
"""


def _render(folder: Path, release: str, extra: str = "") -> Objects:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lab\n"
                    f"spec:\n  target: local\n  release:\n    version: \"{release}\"\n"
                    f"    source: {MANIFESTS / release}\n    remoteCache: {REMOTE_CACHE}\n"
                    + extra)
    result = render_platform(load_platform(path), RenderOptions(offline=True))
    return [item.obj for item in result.bundle.objects]


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Objects]]:
    """The default local platform of both releases, and 26.03 with an S3 and an Azure store."""
    folder = tmp_path_factory.mktemp("renders")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
        patch.setenv("KFP_S3_ACCESS_KEY", "AKIAKFOPSTEST0001")
        patch.setenv("KFP_S3_SECRET_KEY", "s3-secret-key-of-the-test-platform")
        patch.setenv("KFP_AZURE_KEY", "YXp1cmUta2V5LW9mLXRoZS10ZXN0")
        yield {"v1.10.2": _render(folder / "old", "v1.10.2"),
               "26.03": _render(folder / "new", "26.03"),
               "26.03-s3": _render(folder / "s3", "26.03", _S3),
               "26.03-azure": _render(folder / "azure", "26.03", _AZURE)}


def _store_objects(objects: Objects, names: set[str]) -> Objects:
    """The store's Deployment, Service and key Secret of a render."""
    return [o for o in objects if o["kind"] in ("Deployment", "Service", "Secret")
            and o["metadata"]["name"] in names and o["metadata"].get("namespace") == "kubeflow"]


_MINIO = {"minio", "minio-service", "mlpipeline-minio-artifact"}
_SEAWEEDFS = {"seaweedfs", "mlpipeline-minio-artifact"}


def _live(renders: dict[str, Objects], *releases: str) -> Objects:
    """Deployments and Services of the stores as a cluster between the two applies lists them."""
    found = []
    for release in releases:
        names = _MINIO if release == "v1.10.2" else _SEAWEEDFS
        found += [o for o in _store_objects(renders[release], names) if o["kind"] != "Secret"]
    return found


def _move(renders: dict[str, Objects]) -> StoreMove:
    move = decide_store_move(_live(renders, "v1.10.2", "26.03"), renders["26.03"]).move
    assert move is not None
    return move


def test_minio_to_seaweedfs_is_a_move_with_both_stores_found(renders: dict[str, Objects]) -> None:
    decision = decide_store_move(_live(renders, "v1.10.2", "26.03"), renders["26.03"])
    move = decision.move
    assert move is not None, decision.reason
    assert decision.reason == "artifacts move from MinIO to SeaweedFS"
    assert (move.source.url, move.target.url) == ("http://minio-service.kubeflow:9000",
                                                  "http://seaweedfs.kubeflow:8333")
    assert (move.source.deployment, move.target.deployment) == ("minio", "seaweedfs")
    for endpoint in (move.source, move.target):  # kfops's generated keys, in both releases
        assert (endpoint.secret, endpoint.access_key, endpoint.secret_key) == (
            "mlpipeline-minio-artifact", "accesskey", "secretkey")
    # the new release's pipelines profile controller runs Python
    assert move.image == "docker.io/alpine/k8s:1.32.3"


@pytest.mark.parametrize(("live", "new", "reason"), [
    (("v1.10.2", "26.03"), "26.03-s3", "the new render keeps artifacts outside the cluster"),
    (("v1.10.2", "26.03"), "26.03-azure", "spec.objectStore.type azureBlob"),
    (("26.03",), "26.03", "no other in-cluster store runs beside seaweedfs"),
    (("v1.10.2",), "v1.10.2", "no other in-cluster store runs beside minio"),
])
def test_nothing_to_move(renders: dict[str, Objects], live: tuple[str, ...], new: str,
                         reason: str) -> None:
    decision = decide_store_move(_live(renders, *live), renders[new])
    assert decision.move is None
    assert decision.reason.startswith(reason)


def test_an_old_store_of_the_same_product_is_no_move(renders: dict[str, Objects]) -> None:
    """A SeaweedFS left beside another SeaweedFS (renamed by some later release): same product."""
    old = json.loads(json.dumps(_live(renders, "26.03")))
    for obj in old:
        obj["metadata"]["name"] = "seaweedfs-old"
    decision = decide_store_move([*old, *_live(renders, "26.03")], renders["26.03"])
    assert (decision.move, decision.reason) == (None, "the old store is already seaweedfs")


def test_copy_job_validates_as_rendered_objects_do(renders: dict[str, Objects]) -> None:
    """The Job and its ConfigMap pass the validation of the 26.03 render (its Kubernetes
    version), use an image of that render and its Secrets' keys, meet the `restricted` Pod
    Security profile the kubeflow namespace enforces in 26.03, and belong to no ApplySet."""
    new = renders["26.03"]
    move = _move(renders)
    objects = move.objects()
    lock_version = "1.34"
    assert validate_objects(objects, lock_version).ok
    config, job = objects
    assert (config["kind"], job["kind"]) == ("ConfigMap", "Job")
    assert config["metadata"]["name"] == job["metadata"]["name"] == move.name
    assert move.name == _move(renders).name  # the same for every run
    images = {c["image"] for o in new if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] in images
    secrets = {o["metadata"]["name"]: {*(o.get("data") or {}), *(o.get("stringData") or {})}
               for o in new if o["kind"] == "Secret" and o["metadata"]["namespace"] == "kubeflow"}
    refs = [e["valueFrom"]["secretKeyRef"] for e in pod["containers"][0]["env"]
            if "valueFrom" in e]
    assert len(refs) == 4
    assert all(ref["key"] in secrets[ref["name"]] for ref in refs)
    namespace = next(o for o in new if o["kind"] == "Namespace"
                     and o["metadata"]["name"] == "kubeflow")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    _assert_restricted(pod)
    assert job["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    for obj in objects:
        assert PART_OF not in obj["metadata"]["labels"]
    assert config["data"]["store_copy.py"] == Path(script.__file__).read_text()


def _assert_restricted(pod: dict[str, Any]) -> None:
    """The `restricted` profile's checks on a pod
    (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)."""
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert not any(v.get("hostPath") for v in pod["volumes"])
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert not context.get("privileged") and not context["capabilities"].get("add")


# ---- on the emulator --------------------------------------------------------------------


@pytest.fixture
def between_applies(emulator: RunningEmulator, cluster: Cluster,
                    renders: dict[str, Objects]) -> RunningEmulator:
    """A cluster where v1.10.2's MinIO and 26.03's SeaweedFS both run (26.03 applied, not yet
    pruned), with a node for the copy's pod; the emulator runs Jobs."""
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}})
    for obj in [*_store_objects(renders["v1.10.2"], _MINIO),
                *_store_objects(renders["26.03"], _SEAWEEDFS)]:
        cluster.apply(obj)
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"}}
    cluster.apply(node)
    with emulator.lock:
        emulator.state.report_status(("", "nodes", "", "worker-1"),
                                     {"allocatable": {"cpu": "8", "memory": "32Gi"}})
        emulator.state.settings.jobs = True
    return emulator


def _result(emulator: RunningEmulator, move: StoreMove, result: tuple[int, str] | None) -> None:
    with emulator.lock:
        emulator.state.settings.job_results[f"kubeflow/{move.name}"] = result


def _summary_line(**totals: Any) -> str:
    """What the script prints last for a run that found `totals` (its own summary)."""
    mismatches = totals.pop("mismatches", [])
    error = totals.pop("error", None)
    found = script.Totals(**totals)
    found.mismatches = mismatches
    found.buckets = {"mlpipeline": {"source": {"objects": 3, "bytes": 30},
                                    "target": {"objects": 3 - len(mismatches), "bytes": 20},
                                    "onlyInTarget": 0}}
    return "bucket mlpipeline: 3 objects, 3 to copy\n" + json.dumps(
        script.summary(found, error), sort_keys=True) + "\n"


def _copy_jobs(cluster: Cluster) -> list[str]:
    """The copy's Jobs and ConfigMaps left in the cluster, by name."""
    label = {"kfops.io/store-copy": "artifacts"}
    return sorted(o["metadata"]["name"] for kind, api in (("Job", "batch/v1"),
                                                          ("ConfigMap", "v1"))
                  for o in cluster.list(api, kind, "kubeflow", label))


@pytest.fixture(scope="module")
def real_copy_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The output of the copy script copying a small bucket between two real S3 servers."""
    folder = tmp_path_factory.mktemp("copy")
    with running_moto(folder / "old", tls=False) as old, \
            running_moto(folder / "new", tls=False) as new:
        client = old.client()
        client.create_bucket(Bucket="mlpipeline")
        for number in range(12):
            client.put_object(Bucket="mlpipeline", Key=f"artifacts/run-{number}/out.txt",
                              Body=b"x" * number)
        return _run_script(old, new)


def _run_script(old: S3Server, new: S3Server) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "SOURCE_ENDPOINT": old.url,
           "SOURCE_ACCESS_KEY": old.access_key, "SOURCE_SECRET_KEY": old.secret_key,
           "TARGET_ENDPOINT": new.url, "TARGET_ACCESS_KEY": new.access_key,
           "TARGET_SECRET_KEY": new.secret_key, "BACKOFF": "0"}
    done = subprocess.run([sys.executable, script.__file__], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout


def test_move_runs_the_job_reads_its_summary_and_cleans_up(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects],
        real_copy_log: str) -> None:
    move = _move(renders)
    _result(between_applies, move, (0, real_copy_log))
    result = move_store_data(cluster, renders["26.03"], FAST_WAITS)
    assert result.moved and result.verified and not result.resumed
    summary = result.summary
    assert summary is not None
    assert (summary.objects, summary.bytes, summary.copied, summary.skipped) == (
        12, sum(range(12)), 12, 0)
    assert summary.buckets["mlpipeline"]["target"] == {"objects": 12, "bytes": 66}
    assert _copy_jobs(cluster) == []  # deleted after the verified copy
    assert cluster.list("v1", "Pod", "kubeflow", {"job-name": move.name}) == []
    created = [r.path for r in between_applies.writes() if r.method == "PATCH"
               and "/jobs/" in r.path]
    assert created == [f"/apis/batch/v1/namespaces/kubeflow/jobs/{move.name}"]


def test_a_mismatch_fails_naming_the_job_and_the_objects_and_keeps_the_job(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    move = _move(renders)
    mismatches = ["mlpipeline/artifacts/a.txt: missing in the target",
                  "mlpipeline/artifacts/b.txt: 10 bytes in the source, 0 bytes in the target"]
    _result(between_applies, move, (1, _summary_line(copied=3, mismatches=mismatches)))
    with pytest.raises(OperationError) as raised:
        move_store_data(cluster, renders["26.03"], FAST_WAITS)
    message = str(raised.value)
    assert f"Job kubeflow/{move.name}" in message
    assert "2 object(s) differ" in message
    assert all(m in message for m in mismatches)
    assert "MinIO (http://minio-service.kubeflow:9000)" in message
    assert f"kubectl logs -n kubeflow job/{move.name}" in message
    assert _copy_jobs(cluster) == [move.name, move.name]  # Job and ConfigMap, to look at


def test_an_error_of_the_copy_is_reported(between_applies: RunningEmulator, cluster: Cluster,
                                          renders: dict[str, Objects]) -> None:
    move = _move(renders)
    error = "source store http://minio-service.kubeflow:9000: GET /: S3Error: 403 AccessDenied"
    _result(between_applies, move, (1, _summary_line(error=error)))
    with pytest.raises(OperationError, match=r"failed .*403 AccessDenied.*run again to resume"):
        move_store_data(cluster, renders["26.03"], FAST_WAITS)


def test_a_copy_without_a_summary_is_reported_with_its_last_line(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    move = _move(renders)
    _result(between_applies, move, (137, "bucket mlpipeline: 3 objects, 3 to copy\n"))
    with pytest.raises(OperationError, match=r"ended without a summary .*3 to copy"):
        move_store_data(cluster, renders["26.03"], FAST_WAITS)


def test_an_interrupted_move_reuses_the_running_job(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    move = _move(renders)
    _result(between_applies, move, None)  # the copy runs on and on
    with pytest.raises(WaitTimeout, match=f"artifact copy Job kubeflow/{move.name}"):
        move_store_data(cluster, renders["26.03"], QUICK)
    assert _copy_jobs(cluster) == [move.name, move.name]
    _result(between_applies, move, (0, _summary_line(copied=3)))
    result = move_store_data(cluster, renders["26.03"], FAST_WAITS)
    assert result.resumed and result.verified
    assert _copy_jobs(cluster) == []
    jobs = [r for r in between_applies.writes() if r.method == "PATCH" and "/jobs/" in r.path]
    assert len(jobs) == 1  # one Job, created by the first run


def test_a_succeeded_job_left_behind_gives_its_result(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    """Interrupted after the Job succeeded but before kfops deleted it."""
    move = _move(renders)
    _result(between_applies, move, (0, _summary_line(copied=2, skipped=1)))
    for obj in move.objects():
        cluster.apply(obj)
    result = move_store_data(cluster, renders["26.03"], FAST_WAITS)
    assert result.resumed and result.summary is not None
    assert (result.summary.copied, result.summary.skipped) == (2, 1)
    assert _copy_jobs(cluster) == []


def test_a_failed_job_is_replaced_by_the_next_run(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    move = _move(renders)
    _result(between_applies, move, (1, _summary_line(mismatches=["mlpipeline/x: missing in "
                                                                 "the target"])))
    with pytest.raises(OperationError, match="did not verify"):
        move_store_data(cluster, renders["26.03"], FAST_WAITS)
    _result(between_applies, move, (0, _summary_line(copied=1, skipped=2)))
    result = move_store_data(cluster, renders["26.03"], FAST_WAITS)
    assert result.verified and not result.resumed
    assert result.summary is not None and result.summary.copied == 1


def test_a_copy_job_of_another_kfops_version_is_replaced(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    move = _move(renders)
    for obj in move.objects():
        obj["metadata"]["name"] = "kfops-store-copy-0000000000"
        cluster.apply(obj)
    _result(between_applies, move, (0, _summary_line(copied=3)))
    assert move_store_data(cluster, renders["26.03"], FAST_WAITS).verified
    assert _copy_jobs(cluster) == []


def test_nothing_is_started_when_a_store_secret_lacks_its_keys(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    cluster.delete("v1", "Secret", "mlpipeline-minio-artifact", "kubeflow")
    cluster.apply({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "mlpipeline-minio-artifact", "namespace": "kubeflow"},
                   "stringData": {"accesskey": "minio"}})
    with pytest.raises(OperationError, match="mlpipeline-minio-artifact has no key secretkey"):
        move_store_data(cluster, renders["26.03"], FAST_WAITS)
    assert _copy_jobs(cluster) == []


def test_nothing_to_do_on_the_cluster_gives_the_reason(
        between_applies: RunningEmulator, cluster: Cluster, renders: dict[str, Objects]) -> None:
    cluster.delete("apps/v1", "Deployment", "minio", "kubeflow")  # moved and pruned already
    result = move_store_data(cluster, renders["26.03"], FAST_WAITS)
    assert not result.moved and result.verified
    assert result.reason.startswith("no other in-cluster store runs beside seaweedfs")
    result = move_store_data(cluster, renders["26.03-s3"], FAST_WAITS)
    assert not result.moved and "outside the cluster" in result.reason
    assert _copy_jobs(cluster) == []
