"""`kfops gpu test`, `kfops check` and apply's prerequisite stop, against the emulated cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kfops.cli import main
from kfops.cluster import Cluster, WaitSettings
from kfops.config import Taint, load_platform
from kfops.gpu import GpuTest
from kfops.operations import preflight
from kfops.render import load_extra_crds
from kfops.targets import starter_text
from tests.conftest import UPSTREAM, PlatformWriter
from tests.emulator import RunningEmulator
from tests.helpers.presets import fill, offline

DEVICE_PLUGIN = UPSTREAM / "prereqs/nvidia-device-plugin-v0.20.0/nvidia-device-plugin.yml"
QUICK = WaitSettings(timeout=3, interval=0.02, failure_grace=0)
TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]


def node(name: str, gpus: int = 0, taints: list[dict[str, str]] | None = None,
         provider: str = "") -> dict[str, Any]:
    allocatable = {"cpu": "8", "memory": "32Gi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"taints": taints or [], **({"providerID": provider} if provider else {})},
            "status": {"allocatable": allocatable, "capacity": allocatable}}


def add_node(cluster: Cluster, emulator: RunningEmulator, obj: dict[str, Any]) -> None:
    cluster.apply({k: v for k, v in obj.items() if k != "status"})
    with emulator.lock:
        emulator.state.report_status(("", "nodes", "", obj["metadata"]["name"]), obj["status"])


@pytest.fixture(autouse=True)
def connector_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")


@pytest.fixture
def jobs(emulator: RunningEmulator) -> RunningEmulator:
    emulator.state.settings.jobs = True
    return emulator


def leftovers(cluster: Cluster) -> list[str]:
    return [o["metadata"]["name"] for kind in ("Job", "Pod")
            for o in cluster.list("batch/v1" if kind == "Job" else "v1", kind, "default")]


def test_gpu_test_without_a_gpu_node_says_no_node(cluster: Cluster, jobs: RunningEmulator) -> None:
    add_node(cluster, jobs, node("cpu-1"))
    add_node(cluster, jobs, node("gpu-1", gpus=1, taints=[
        {"key": "dedicated", "value": "ml", "effect": "NoSchedule"}]))
    report = GpuTest(cluster, Taint(), waits=QUICK).run()
    assert not report.passed and report.failed_step == "no node"
    assert "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated " \
           "taint(s)." in report.detail
    assert "nvidia.com/gpu=true:NoSchedule" in report.detail
    assert report.node is None and leftovers(cluster) == []


def test_gpu_test_stops_at_once_on_the_reasons_apply_stops_on(cluster: Cluster,
                                                              jobs: RunningEmulator) -> None:
    add_node(cluster, jobs, node("cpu-1"))
    # No autoscaler nominates a node: Unschedulable is one of the FAILING_REASONS apply and
    # status use. A timeout this long would stop the test first.
    waits = WaitSettings(timeout=3600, interval=0.02, failure_grace=0)
    report = GpuTest(cluster, Taint(), waits=waits).run()
    assert report.failed_step == "no node"
    assert "the scheduler says: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu" \
        in report.detail
    assert leftovers(cluster) == []


def test_gpu_test_on_a_tainted_gpu_node_sees_the_gpu(cluster: Cluster,
                                                    jobs: RunningEmulator) -> None:
    add_node(cluster, jobs, node("cpu-1"))
    add_node(cluster, jobs, node("gpu-1", gpus=2, taints=TAINT))
    report = GpuTest(cluster, Taint(), waits=QUICK).run()
    assert report.passed, report.detail
    assert (report.node, report.provisioned) == ("gpu-1", False)
    assert report.gpus == ["GPU 0: NVIDIA A100 80GB PCIe (UUID: GPU-emulated-0)",
                           "GPU 1: NVIDIA A100 80GB PCIe (UUID: GPU-emulated-1)"]
    assert leftovers(cluster) == []
    job_writes = [r.method for r in jobs.writes() if "/jobs/" in r.path]
    assert job_writes == ["PATCH", "DELETE"]  # applied once, deleted with its pod


def test_gpu_test_without_a_log_says_so_instead_of_no_gpu(
        cluster: Cluster, jobs: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node that keeps no log of the container (kwok, or one gone since) answers 400: kfops
    cannot tell what nvidia-smi saw, and says that, not "no GPU" nor "the server refused it"."""
    from tests.emulator._state import ApiError  # noqa: PLC0415 - the emulator's own answer

    def no_log(namespace: str, name: str, *_: object) -> str:
        raise ApiError(400, "BadRequest",
                       f'no logs found for container "nvidia-smi" in pod "{namespace}/{name}"')

    add_node(cluster, jobs, node("gpu-1", gpus=1, taints=TAINT))
    monkeypatch.setattr(jobs.state, "pod_log", no_log)
    report = GpuTest(cluster, Taint(), waits=QUICK).run()
    assert (report.passed, report.failed_step, report.node) == (False, "no log", "gpu-1")
    assert report.detail.startswith("the pod ran on gpu-1 and nvidia-smi exited 0, but its log "
                                    "could not be read (Pod default/kfops-gpu-test-")
    assert 'no logs found for container "nvidia-smi"' in report.detail
    assert report.detail.endswith("kfops cannot tell whether it saw a GPU")
    assert "admission" not in report.detail and "rejected" not in report.detail
    assert leftovers(cluster) == []

    monkeypatch.setattr(jobs.state, "pod_log", lambda namespace, name, *_: "")
    report = GpuTest(cluster, Taint(), waits=QUICK).run()
    assert report.failed_step == "no log"
    assert report.detail == ("the pod ran on gpu-1 and nvidia-smi exited 0, but it printed "
                             "nothing: kfops cannot tell whether it saw a GPU")


def test_gpu_test_reports_a_node_karpenter_made(cluster: Cluster, jobs: RunningEmulator) -> None:
    jobs.state.settings.provision_node = node("aks-gpu-x7k2p", gpus=1, taints=TAINT,
                                              provider="azure:///subscriptions/x")
    jobs.state.settings.provision_delay = 0.2
    report = GpuTest(cluster, Taint(), waits=QUICK).run()
    assert report.passed and (report.node, report.provisioned) == ("aks-gpu-x7k2p", True)


def test_gpu_test_names_an_image_that_does_not_pull(cluster: Cluster,
                                                   jobs: RunningEmulator) -> None:
    add_node(cluster, jobs, node("gpu-1", gpus=1, taints=TAINT))
    jobs.state.settings.image_pull_error = True
    report = GpuTest(cluster, Taint(), image="registry.internal/cuda:none", waits=QUICK).run()
    assert report.failed_step == "image pull"
    assert report.detail.startswith("registry.internal/cuda:none: ErrImagePull")
    assert leftovers(cluster) == []


def test_gpu_test_cli(platform_file: PlatformWriter, kubeconfig: Path, cluster: Cluster,
                      jobs: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    path = platform_file(spec_extra="  gpu:\n    enabled: true\n    taint: {key: gpu, "
                                    "value: a100}\n")
    add_node(cluster, jobs, node("gpu-1", gpus=1, taints=[
        {"key": "gpu", "value": "a100", "effect": "NoSchedule"}]))
    args = ["gpu", "test", "-f", str(path), "--kubeconfig", str(kubeconfig), "--timeout", "5"]
    assert main([*args, "-o", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["node"] == "gpu-1" and report["failedStep"] is None
    cluster.delete("v1", "Node", "gpu-1")
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "failed: no node" in out and "gpu=a100:NoSchedule" in out
    # In a closed network the test image comes from the private registry.
    path.write_text(path.read_text() + "  airgap: {registry: \"registry.internal:5000\"}\n")
    add_node(cluster, jobs, node("gpu-2", gpus=1, taints=[
        {"key": "gpu", "value": "a100", "effect": "NoSchedule"}]))
    jobs.state.settings.image_pull_error = True
    assert main([*args, "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failedStep"] == "image pull"
    assert report["detail"].startswith(
        "registry.internal:5000/nvidia/cuda:12.4.1-base-ubuntu22.04: ErrImagePull")


def default_class(cluster: Cluster) -> None:
    cluster.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": "standard", "annotations": {
                       "storageclass.kubernetes.io/is-default-class": "true"}},
                   "provisioner": "rancher.io/local-path"})


def states(checks: list[Any]) -> dict[str, str]:
    return {c.name: c.state for c in checks}


def test_check_on_prem_with_and_without_gpus(platform_file: PlatformWriter, cluster: Cluster,
                                             emulator: RunningEmulator, tmp_path: Path) -> None:
    path = platform_file(spec_extra=(
        "  ingress: {serviceType: LoadBalancer}\n"
        f"  gpu: {{enabled: true, install: devicePlugin, source: {DEVICE_PLUGIN}}}\n"))
    loaded = load_platform(path)
    checks = preflight(loaded, cluster)
    assert states(checks) == {"kubernetes": "pass", "storage": "fail", "objectStore": "pass",
                              "load-balancer": "fail", "inotify": states(checks)["inotify"],
                              "gpus": "warn"}
    default_class(cluster)
    add_node(cluster, emulator, node("gpu-1", gpus=4, taints=TAINT, provider="kind://x"))
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "lb", "namespace": "default"}, "spec": {"type": "LoadBalancer", "ports": [
            {"port": 80}]}})
    with emulator.lock:
        emulator.state.report_status(("", "services", "default", "lb"), {
            "loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}})
    found = {c.name: c for c in preflight(loaded, cluster)}
    assert found["storage"].state == found["load-balancer"].state == "pass"
    assert found["gpus"].state == "pass"
    assert found["gpus"].detail == "4 nvidia.com/gpu allocatable on 1 node(s)"


def test_check_inotify_advice_on_kind_hosts(platform_file: PlatformWriter, cluster: Cluster,
                                            tmp_path: Path) -> None:
    proc = tmp_path / "inotify"
    proc.mkdir()
    (proc / "max_user_instances").write_text("128\n")
    (proc / "max_user_watches").write_text("1255360\n")
    [inotify] = [c for c in preflight(load_platform(platform_file()), cluster, proc)
                 if c.name == "inotify"]
    assert inotify.state == "warn"
    assert "max_user_instances 128 < 2280" in inotify.detail
    assert "sudo sysctl fs.inotify.max_user_instances=2280" in inotify.detail
    (proc / "max_user_instances").write_text("8192\n")
    [inotify] = [c for c in preflight(load_platform(platform_file()), cluster, proc)
                 if c.name == "inotify"]
    assert inotify.state == "pass"


def test_check_cli_version_operator_and_exit_code(
        platform_file: PlatformWriter, kubeconfig: Path, cluster: Cluster,
        emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    path = platform_file(release="v1.10.2", spec_extra="  gpu: {enabled: true}\n")
    default_class(cluster)
    emulator.state.settings.server_version = "1.27"
    args = ["check", "-f", str(path), "--kubeconfig", str(kubeconfig)]
    assert main([*args, "-o", "json"]) == 1
    rows = {r["check"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["kubernetes"]["state"] == "fail"
    assert rows["kubernetes"]["detail"].startswith("1.27 (release v1.10.2 is tested on")
    assert rows["gpu-operator"]["state"] == "fail"
    assert "helm upgrade --install gpu-operator nvidia/gpu-operator" in rows[
        "gpu-operator"]["detail"]
    cluster.apply(operator_crd())
    emulator.state.settings.server_version = "1.31"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "pass kubernetes" in " ".join(out.split())
    assert "CRD clusterpolicies.nvidia.com is installed" in out


def operator_crd() -> dict[str, Any]:
    import yaml  # noqa: PLC0415

    text = (UPSTREAM / "crds/gpu-operator-v26.7.0/nvidia.com_clusterpolicies.yaml").read_text()
    return dict(yaml.safe_load(text))


def test_apply_stops_before_any_change_without_the_operator(
        platform_file: PlatformWriter, kubeconfig: Path, emulator: RunningEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = platform_file(spec_extra="  gpu: {enabled: true, timeSlicing: {replicas: 2}}\n")
    code = main(["apply", "-f", str(path), "--kubeconfig", str(kubeconfig), "--offline"])
    err = capsys.readouterr().err
    assert code == 1
    assert "CRD clusterpolicies.nvidia.com (needed because spec.gpu.install is operator)" in err
    assert "--set-string devicePlugin.config.name=time-slicing-config" in err
    assert emulator.writes() == []
    code = main(["plan", "-f", str(path), "--kubeconfig", str(kubeconfig), "--offline"])
    assert code == 3
    assert "apply would stop: the cluster lacks CRD clusterpolicies.nvidia.com" in \
        capsys.readouterr().err


def test_aks_platform_applies_once_karpenter_and_the_operator_are_there(
        tmp_path: Path, kubeconfig: Path, cluster: Cluster, emulator: RunningEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(offline(fill(starter_text("aks")), "26.03"))
    args = ["apply", "-f", str(path), "--kubeconfig", str(kubeconfig), "--offline", "-o", "json"]
    assert main(args) == 1
    err = capsys.readouterr().err
    for crd in ("clusterpolicies.nvidia.com", "nodepools.karpenter.sh",
                "aksnodeclasses.karpenter.azure.com"):
        assert f"CRD {crd}" in err
    assert "kfops aks script" in err and emulator.writes() == []
    # What `kfops aks script` (Karpenter's chart) and the operator's Helm chart install:
    for extra in load_extra_crds([UPSTREAM / "crds/karpenter-provider-azure-v1.14.2"]):
        cluster.apply(extra.crd)
    cluster.apply(operator_crd())
    assert main(args) == 0
    created = json.loads(capsys.readouterr().out)["created"]
    assert {"NodePool general", "NodePool gpu", "AKSNodeClass gpu",
            "Namespace gpu-operator"} <= set(created)
    pool = cluster.get("karpenter.sh/v1", "NodePool", "gpu")
    assert pool is not None and pool["spec"]["template"]["spec"]["taints"][0]["key"] == \
        "nvidia.com/gpu"
