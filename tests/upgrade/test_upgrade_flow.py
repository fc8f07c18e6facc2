"""An upgrade from the real v1.10.2 platform to the real 26.03 one on the emulator: the plan's
upgrade section, each gate, the upgrade's steps and its verification."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from kfops.cli import main
from kfops.cli._upgrade_output import upgrade_lines
from kfops.cluster import ApplyOptions, Cluster, installed_release
from kfops.config import LoadedPlatform, load_platform
from kfops.errors import InputError, UpgradeBlocked, WorkloadFailed
from kfops.operations import UpgradeOptions, apply_platform, plan_platform
from kfops.render import RenderOptions
from kfops.upgrade import KUBERNETES, REMOVED_CRDS, RUNNING_WORK, read_record
from tests.conftest import FAST_WAITS, PlatformWriter
from tests.emulator import RunningEmulator

GOLDEN = Path(__file__).parent / "golden" / "plan-v1.10.2-26.03.txt"
OFFLINE = RenderOptions(offline=True)


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


def test_an_interrupted_upgrade_resumes_and_converges(installed: LoadedPlatform,
                                                      cluster: Cluster,
                                                      emulator: RunningEmulator,
                                                      platform_file: PlatformWriter) -> None:
    _pytorchjob(cluster, emulator, running=False)  # finished, but its CRD goes: kept on purpose
    # A controller only 26.03 has cannot pull its image for 2 s: the apply stops after writing.
    trainer = "kubeflow-system/kubeflow-trainer-controller-manager"
    emulator.state.settings.failing = {trainer: "ImagePullBackOff"}
    emulator.state.settings.failing_for = 2.0
    short = dataclasses.replace(FAST_WAITS, failure_grace=0.2)
    with pytest.raises(WorkloadFailed, match="kubeflow-trainer-controller-manager"):
        _apply(installed, cluster, UpgradeOptions(force_gates=(REMOVED_CRDS,)), waits=short)
    record = read_record(cluster, "lab")
    assert record is not None and (record.installed, record.target) == ("v1.10.2", "26.03")
    assert record.forced == (REMOVED_CRDS,)
    time.sleep(2.0)
    plan = plan_platform(installed, cluster, OFFLINE)
    assert plan.upgrade is not None and plan.upgrade.resuming is not None
    assert plan.upgrade.gates == []  # a half-upgraded platform is not gated again
    result = _apply(installed, cluster, UpgradeOptions())
    upgrade = result.upgrade
    assert upgrade is not None and (upgrade.installed, upgrade.target) == ("v1.10.2", "26.03")
    assert "Deployment kubeflow/training-operator" in result.summary.pruned
    assert any(k.startswith("PersistentVolumeClaim kubeflow/minio-pvc") for k in
               result.summary.kept)
    assert any("pytorchjobs.kubeflow.org" in k for k in result.summary.kept)
    # users' objects all kept; one claim more: the new store's (the old one's is kept)
    assert upgrade.counts_after == {**upgrade.counts_before,
                                    "volume claims": upgrade.counts_before["volume claims"] + 1}
    assert upgrade.counts_before["profiles"] == 1
    assert installed_release(cluster, "lab") == "26.03"
    assert read_record(cluster, "lab") is None
    # plan after the upgrade: nothing to do; a re-apply writes nothing
    assert plan_platform(installed, cluster, OFFLINE).upgrade is None
    writes = len(emulator.writes())
    assert _apply(installed, cluster).upgrade is None
    assert len(emulator.writes()) == writes
    # and going back is refused, writing nothing
    with pytest.raises(InputError, match=r"older than the installed 26\.03: a downgrade is "
                                         "refused"):
        _apply(load_platform(platform_file("v1.10.2", folder=installed.path.parent / "old")),
               cluster, UpgradeOptions())
    assert len(emulator.writes()) == writes
