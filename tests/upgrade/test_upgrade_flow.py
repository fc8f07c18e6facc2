"""An upgrade from the real v1.10.2 platform to the real 26.03 one on the emulator: the plan's
upgrade section, each gate, the upgrade's steps and its verification."""

from __future__ import annotations

import dataclasses
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfops.cli import main
from kfops.cli._upgrade_output import upgrade_lines
from kfops.cluster import ApplyOptions, Cluster, installed_release
from kfops.config import LoadedPlatform, load_platform
from kfops.errors import ClusterError, InputError, UpgradeBlocked, WaitTimeout, WorkloadFailed
from kfops.objects import storage_version
from kfops.operations import UpgradeOptions, apply_platform, plan_platform
from kfops.render import RenderOptions
from kfops.upgrade import KUBERNETES, REMOVED_CRDS, RUNNING_WORK, read_record
from tests.conftest import FAST_WAITS, PlatformWriter
from tests.emulator import Fault, RunningEmulator
from tests.helpers.mariadb import LocalKubelet, platform_databases
from tests.helpers.store_copy import copy_job_name, verified_copy_log
from tests.upgrade.test_backup import NODE, NOTEBOOK, PVC

GOLDEN = Path(__file__).parent / "golden" / "plan-v1.10.2-26.03.txt"
OFFLINE = RenderOptions(offline=True)
USER_NAMESPACE = "kubeflow-user-example-com"


def _apply(loaded: LoadedPlatform, cluster: Cluster, upgrade: UpgradeOptions | None = None,
           **options: Any) -> Any:
    options.setdefault("waits", FAST_WAITS)
    return apply_platform(loaded, cluster, ApplyOptions(**options), render_options=OFFLINE,
                          upgrade=upgrade)


@pytest.fixture
def installed(platform_file: PlatformWriter, cluster: Cluster) -> LoadedPlatform:
    """v1.10.2 applied; returns the same platform file moved to 26.03."""
    _apply(load_platform(platform_file("v1.10.2")), cluster)
    return load_platform(platform_file("26.03"))


@pytest.fixture
def databases(installed: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator,
              tmp_path: Path) -> Iterator[LocalKubelet]:
    """The backup's database Jobs run here, against a MariaDB per database holding a row."""
    with emulator.lock:
        emulator.state.create(emulator.state.kind("", "nodes"), "",
                              {k: v for k, v in NODE.items() if k != "status"}, dry_run=False)
        emulator.state.report_status(("", "nodes", "", "node-1"), NODE["status"])
    with platform_databases(
            emulator, cluster, tmp_path,
            pipelines_sql="CREATE DATABASE mlpipeline; CREATE TABLE mlpipeline.runs (id INT "
                          "PRIMARY KEY); INSERT INTO mlpipeline.runs VALUES (1)",
            katib_sql="CREATE DATABASE katib; CREATE TABLE katib.trials (name TEXT); "
                      "INSERT INTO katib.trials VALUES ('tune-1')") as runner:
        yield runner


PIPELINES_UI_LABELS = {"app": "ml-pipeline-ui", "app.kubernetes.io/component": "ml-pipeline",
                       "app.kubernetes.io/name": "kubeflow-pipelines",
                       "application-crd-id": "kubeflow-pipelines"}


def _pod_with_sidecar(name: str, namespace: str, labels: dict[str, str], *,
                      native: bool = False) -> dict[str, Any]:
    """A pod as Istio 1.26's injector left it: its container and an istio-proxy (`native`:
    as an init container that keeps running, as istiod's ENABLE_NATIVE_SIDECARS=true of
    Kubeflow's Istio overlays injects it)."""
    proxy = {"name": "istio-proxy", "image": "gcr.io/istio-release/proxyv2:1.26.1"}
    main = {"name": "main", "image": "example.com/app:1"}
    spec = {"initContainers": [{**proxy, "restartPolicy": "Always"}], "containers": [main]} \
        if native else {"containers": [main, proxy]}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def _fail_all(emulator: RunningEmulator, method: str | None) -> None:
    """Every request of `method` answered 500 until the client gives up (None: no faults)."""
    with emulator.lock:
        emulator.faults.methods = (method,) if method else ()
        emulator.faults.writes_only = True
        emulator.faults.queued = [Fault("500") for _ in range(8)] if method else []


def _pytorchjob(cluster: Cluster, emulator: RunningEmulator, running: bool) -> None:
    """A PyTorchJob whose controller reported it running or succeeded."""
    cluster.create({"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
                    "metadata": {"name": "train", "namespace": "kubeflow-user-example-com"},
                    "spec": {"pytorchReplicaSpecs": {}}})
    conditions = [{"type": "Running" if running else "Succeeded", "status": "True"}]
    with emulator.lock:
        emulator.state.report_status(
            ("kubeflow.org", "pytorchjobs", "kubeflow-user-example-com", "train"),
            {"conditions": conditions})


def test_plan_gates_and_refusals_change_nothing(installed: LoadedPlatform, cluster: Cluster,
                                                emulator: RunningEmulator, kubeconfig: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Everything before an upgrade's first write, on one v1.10.2 install (one apply)."""
    before = len(emulator.writes())
    # plan: the upgrade section between the shipped releases (golden)
    plan = plan_platform(installed, cluster, OFFLINE)
    assert plan.upgrade is not None
    text = "\n".join(upgrade_lines(plan.upgrade, verbose=True)) + "\n"
    assert text == GOLDEN.read_text()
    assert installed_release(cluster, "lab") == "v1.10.2"
    # the library's apply does not upgrade unasked
    with pytest.raises(InputError, match=r"upgrades the platform from v1\.10\.2 to 26\.03"):
        _apply(installed, cluster)
    # the CLI asks; without a terminal it needs --yes; a gate name is checked
    code = main(["apply", "-f", str(installed.path), "--kubeconfig", str(kubeconfig),
                 "--offline", "--timeout", "5"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "upgrade v1.10.2 → 26.03" in captured.out
    assert "there is no terminal to ask" in captured.err
    code = main(["apply", "-f", str(installed.path), "--kubeconfig", str(kubeconfig),
                 "--offline", "--force-gate", "nonsense"])
    assert code == 2 and "--force-gate nonsense: no such gate" in capsys.readouterr().err
    # each gate stops the upgrade, naming what it found and what to do
    _pytorchjob(cluster, emulator, running=True)
    emulator.state.settings.server_version = "1.31"
    with pytest.raises(UpgradeBlocked) as caught:
        _apply(installed, cluster, UpgradeOptions())
    message = str(caught.value)
    assert "gate kubernetes-version: BLOCKS: Kubernetes 1.31" in message
    assert "gate running-work: BLOCKS: work in progress: 1 training jobs" in message
    assert "PyTorchJob kubeflow-user-example-com/train" in message
    assert "gate removed-crd-instances: BLOCKS" in message
    assert "1 PyTorchJob (pytorchjobs.kubeflow.org)" in message
    assert "gate healthy" not in message
    emulator.state.settings.failing = {"kubeflow/ml-pipeline": "ImagePullBackOff"}
    with pytest.raises(UpgradeBlocked, match="gate healthy: BLOCKS"):
        _apply(installed, cluster, UpgradeOptions(force_gates=(KUBERNETES, RUNNING_WORK,
                                                                REMOVED_CRDS)))
    # the PyTorchJob was the only write of this test
    assert len(emulator.writes()) == before + 1
    assert read_record(cluster, "lab") is None


def _interrupt_five_times(installed: LoadedPlatform, cluster: Cluster,
                          emulator: RunningEmulator, tmp_path: Path) -> tuple[Path, str]:
    """Stop the upgrade at five points in turn, each run going further than the last; the
    backup folder and the copy Job's name."""
    _pytorchjob(cluster, emulator, running=False)  # finished, but its CRD goes: kept on purpose
    for obj in (NOTEBOOK, PVC):  # a user's notebook and its volume, in the example profile
        cluster.create({**obj, "metadata": {**obj["metadata"], "namespace": USER_NAMESPACE}})
    # pods injected with v1.10.2's sidecar: the pipelines UI's, and the notebook's
    cluster.create(_pod_with_sidecar("ml-pipeline-ui-1", "kubeflow", PIPELINES_UI_LABELS))
    cluster.create(_pod_with_sidecar("nb-0", USER_NAMESPACE, {"app": "nb"}, native=True))
    cluster.create({"apiVersion": "apps/v1", "kind": "StatefulSet",  # as the controller makes it
                    "metadata": {"name": "nb", "namespace": USER_NAMESPACE},
                    "spec": {"serviceName": "", "selector": {"matchLabels": {"app": "nb"}},
                             "template": {"metadata": {"labels": {"app": "nb"}}, "spec": {
                                 "containers": [{"name": "nb", "image": "example.com/nb:1"}]}}}})
    # 1. the backup's first database dump fails: nothing of the platform is changed yet
    runs = emulator.state.settings.run_container
    emulator.state.settings.run_container = lambda pod, secrets: (1, "mysqldump: error 2013\n")
    with pytest.raises(ClusterError, match="kfops-dump"):
        _apply(installed, cluster, UpgradeOptions(force_gates=(REMOVED_CRDS,),
                                                  backup_dir=tmp_path / "first-try"))
    assert read_record(cluster, "lab") is None
    assert installed_release(cluster, "lab") == "v1.10.2"
    emulator.state.settings.run_container = runs
    # 2. a controller only 26.03 has cannot pull its image for 2 s: the staged apply stops
    trainer = "kubeflow-system/kubeflow-trainer-controller-manager"
    emulator.state.settings.failing = {trainer: "ImagePullBackOff"}
    emulator.state.settings.failing_for = 2.0
    short = dataclasses.replace(FAST_WAITS, failure_grace=0.2)
    backup = tmp_path / "backup"
    with pytest.raises(WorkloadFailed, match="kubeflow-trainer-controller-manager"):
        _apply(installed, cluster, UpgradeOptions(force_gates=(REMOVED_CRDS,),
                                                  backup_dir=backup), waits=short)
    record = read_record(cluster, "lab")
    assert record is not None and (record.installed, record.target) == ("v1.10.2", "26.03")
    assert record.forced == (REMOVED_CRDS,) and record.backup == str(backup)
    # the backup was taken before the first change: the old release, its objects, both dumps
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["release"] == "v1.10.2"
    assert sorted(d["database"] for d in manifest["dumps"]["files"]) == ["katib", "pipelines"]
    assert (backup / "objects").is_dir() and stat.S_IMODE(backup.stat().st_mode) == 0o700
    time.sleep(2.0)
    plan = plan_platform(installed, cluster, OFFLINE)
    assert plan.upgrade is not None and plan.upgrade.resuming is not None
    assert plan.upgrade.gates == []  # a half-upgraded platform is not gated again
    # 3. the API server fails every rewrite of the storage-version migration
    _fail_all(emulator, "PUT")
    with pytest.raises(ClusterError):
        _apply(installed, cluster, UpgradeOptions())
    _fail_all(emulator, None)
    # 4. the copy of MinIO's artifacts into SeaweedFS is still running when the wait ends
    # (the copy script itself runs against real S3 servers in tests/storage; here its pod
    # runs until the test gives its log: the summary of a verified copy)
    copy = copy_job_name(cluster, [o.obj for o in plan.render.bundle.objects])
    emulator.state.settings.job_results[f"kubeflow/{copy}"] = None
    with pytest.raises(WaitTimeout):
        _apply(installed, cluster, UpgradeOptions(),
               waits=dataclasses.replace(FAST_WAITS, timeout=1.0))
    # 5. the copy verified, the API server refuses to delete its Job (prune comes after)
    emulator.state.settings.job_results[f"kubeflow/{copy}"] = (0, verified_copy_log())
    _fail_all(emulator, "DELETE")
    with pytest.raises(ClusterError):
        _apply(installed, cluster, UpgradeOptions())
    _fail_all(emulator, None)
    assert read_record(cluster, "lab") is not None
    return backup, copy


def test_an_upgrade_interrupted_at_five_points_resumes_and_converges(
        installed: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator,
        platform_file: PlatformWriter, tmp_path: Path, *, databases: LocalKubelet) -> None:
    """Stopped at five points in turn, each run goes further; the last one converges."""
    backup, copy = _interrupt_five_times(installed, cluster, emulator, tmp_path)
    result = _apply(installed, cluster, UpgradeOptions())
    upgrade = result.upgrade
    assert upgrade is not None and (upgrade.installed, upgrade.target) == ("v1.10.2", "26.03")
    assert upgrade.backup == str(backup)  # the resumed run takes no second backup
    assert upgrade.stopped == []  # stopped by the first run already
    # the platform's pods with the old sidecar restarted; users' only when asked
    assert "Deployment kubeflow/ml-pipeline-ui" in upgrade.restarted
    assert f"StatefulSet {USER_NAMESPACE}/nb" not in upgrade.restarted
    # every CRD stores only its storage version: the 10 Istio ones moved to v1 were migrated
    # (by the 4th run), every object rewritten
    crds = cluster.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    assert all(c["status"]["storedVersions"] == [storage_version(c)] for c in crds)
    assert sum(1 for c in crds if c["spec"]["group"].endswith("istio.io")
               and storage_version(c) == "v1") >= 10
    assert upgrade.store.startswith("artifacts copied and verified: 4 objects, 40 bytes")
    assert cluster.get("batch/v1", "Job", copy, "kubeflow") is None  # gone once verified
    crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                      "authorizationpolicies.security.istio.io")
    assert crd is not None and crd["status"]["storedVersions"] == ["v1"]
    with emulator.lock:
        stored = emulator.state.stored_versions("security.istio.io", "authorizationpolicies")
    assert stored and set(stored.values()) == {"v1"}
    assert "Deployment kubeflow/training-operator" in result.summary.pruned
    assert any(k.startswith("PersistentVolumeClaim kubeflow/minio-pvc") for k in
               result.summary.kept)
    assert any("pytorchjobs.kubeflow.org" in k for k in result.summary.kept)
    # users' objects all kept; one claim more: the new store's (the old one's is kept)
    assert upgrade.counts_after == {**upgrade.counts_before,
                                    "volume claims": upgrade.counts_before["volume claims"] + 1}
    assert upgrade.counts_before["profiles"] == 1 and upgrade.counts_after["notebooks"] == 1
    assert cluster.get("kubeflow.org/v1", "Notebook", "nb", USER_NAMESPACE) is not None
    assert installed_release(cluster, "lab") == "26.03"
    assert read_record(cluster, "lab") is None
    # plan after the upgrade: nothing to do; a re-apply writes nothing
    assert plan_platform(installed, cluster, OFFLINE).upgrade is None
    writes = len(emulator.writes())
    assert _apply(installed, cluster).upgrade is None
    assert len(emulator.writes()) == writes
    # going back is refused, writing nothing, unless the backup of v1.10.2 is named
    old = load_platform(platform_file("v1.10.2", folder=installed.path.parent / "old"))
    with pytest.raises(InputError, match=r"older than the installed 26\.03: a downgrade is "
                                         "refused"):
        _apply(old, cluster, UpgradeOptions())
    with pytest.raises(InputError, match=r"not a kfops backup|no manifest"):
        _apply(old, cluster, UpgradeOptions(restore_from=tmp_path / "first-try"))
    assert len(emulator.writes()) == writes
    # the rollback: the databases created anew and loaded from the backup's dumps
    pipelines = databases.servers["mysql.kubeflow.svc"]
    pipelines.sql("DROP DATABASE mlpipeline")  # what the newer release did to the data
    back = _apply(old, cluster, UpgradeOptions(restore_from=backup))
    assert back.upgrade is not None and back.upgrade.target == "v1.10.2"
    assert back.upgrade.reset == ["PersistentVolumeClaim kubeflow/mysql-pv-claim",
                                  "PersistentVolumeClaim kubeflow/katib-mysql"]
    assert "databases pipelines, katib" in back.upgrade.restored
    assert "1" in pipelines.sql("SELECT id FROM mlpipeline.runs")
    assert installed_release(cluster, "lab") == "v1.10.2"
    assert cluster.get("apps/v1", "Deployment", "training-operator", "kubeflow") is not None
    assert read_record(cluster, "lab") is None
