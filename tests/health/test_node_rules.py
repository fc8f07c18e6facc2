"""doctor's node rules on a copy of a real 26.03 install: inotify limits and GPU pods."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import UPSTREAM
from tests.health.conftest import Site

POD = "ml-pipeline-5d8f7c9b4-emu01"
"""The pod the emulated kubelet gives kubeflow/ml-pipeline when it is made to fail."""
PROFILE = "kubeflow-user-example-com"
NODE_POOLS = UPSTREAM / "crds/karpenter-provider-azure-v1.14.2/karpenter.sh_nodepools.yaml"
TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
API_SERVER_LOG = (
    "I1201 10:00:00.000000       1 main.go:110] Starting API server...\n"
    "I1201 10:00:00.100000       1 client_manager.go:170] Initializing client manager\n"
    "F1201 10:00:01.000000       1 main.go:95] failed to create fsnotify watcher: too many "
    "open files\n")


def crash(site: Site, workload: str, log: str) -> None:
    """Make `namespace/name` crash-loop with `log` as its last run's output."""
    with site.emulator.lock:
        site.emulator.state.settings.failing[workload] = "CrashLoopBackOff"
        site.emulator.state.settings.logs[workload] = log


def add_node(site: Site, name: str, gpus: int = 0,
             taints: list[dict[str, str]] | None = None) -> None:
    allocatable = {"cpu": "8", "memory": "32Gi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    site.cluster.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                         "spec": {"taints": taints or []}})
    with site.emulator.lock:
        site.emulator.state.report_status(("", "nodes", "", name),
                                          {"allocatable": allocatable, "capacity": allocatable})


def running_pod(site: Site, namespace: str, name: str, log: str = "",
                restarts: int = 0) -> None:
    """A pod running on emulated-node-1 whose container `main` printed `log`."""
    site.cluster.create({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": name, "namespace": namespace},
                         "spec": {"nodeName": "emulated-node-1", "containers": [
                             {"name": "main", "image": "docker.io/library/busybox:1.36"}]}})
    with site.emulator.lock:
        site.emulator.state.report_status(("", "pods", namespace, name), {
            "phase": "Running", "containerStatuses": [{
                "name": "main", "image": "docker.io/library/busybox:1.36", "ready": True,
                "restartCount": restarts, "state": {"running": {}}}]})
        site.emulator.state.logs[(namespace, name, "main")] = log


def gpu_job(site: Site, name: str = "train") -> None:
    """A one-GPU Job in the profile namespace, run by the emulated job controller."""
    with site.emulator.lock:
        site.emulator.state.settings.jobs = True
    site.cluster.create({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": PROFILE},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "train", "image": "nvcr.io/nvidia/pytorch:25.01-py3",
                            "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}})
    site.cluster.list("v1", "Pod", PROFILE)  # the controllers run before each request


def only(site: Site, rule: str) -> list[Any]:
    report = site.doctor(rule)
    assert report.not_run == [], report.not_run
    return report.findings


def test_inotify_names_the_node_the_line_and_the_sysctls(site: Site) -> None:
    crash(site, "kubeflow/ml-pipeline", API_SERVER_LOG)
    [finding] = only(site, "inotify")
    assert finding.severity == "failure"
    assert finding.summary == ("node emulated-node-1: pods fail with inotify limits exhausted "
                               "(too many open files)")
    assert finding.evidence == (
        f"Pod kubeflow/{POD} container ml-pipeline-api-server (CrashLoopBackOff, 5 restarts): "
        "F1201 10:00:01.000000       1 main.go:95] failed to create fsnotify watcher: too many "
        "open files",)
    assert "sudo sysctl fs.inotify.max_user_instances=2280 fs.inotify.max_user_watches=1255360" \
        in finding.fix
    assert "/etc/sysctl.d/99-kubeflow.conf && sudo sysctl --system" in finding.fix


def test_inotify_reads_logs_only_of_crashing_containers_with_the_line_cap(site: Site) -> None:
    crash(site, "kubeflow/ml-pipeline", API_SERVER_LOG)
    running_pod(site, "kubeflow", "healthy-0", log=API_SERVER_LOG)  # never restarted: not read
    site.doctor("inotify")
    reads = [r for r in site.emulator.state.requests if r.path.endswith("/log")]
    assert [r.path for r in reads] == [f"/api/v1/namespaces/kubeflow/pods/{POD}/log"]
    assert "tailLines=200" in reads[0].query
    assert "container=ml-pipeline-api-server" in reads[0].query


def test_inotify_finds_nothing_in_a_crash_for_another_reason(site: Site) -> None:
    crash(site, "kubeflow/ml-pipeline",
          "F1201 10:00:01.000000 1 main.go:95] dial tcp 10.96.0.12:3306: connect: connection "
          "refused\n")
    assert only(site, "inotify") == []
    assert [f.rule for f in site.doctor("workload-unavailable").findings] == [
        "workload-unavailable"]  # the crash itself is that rule's


def test_inotify_watch_limit_as_enospc_counts_and_plain_disk_full_does_not(site: Site) -> None:
    crash(site, "kubeflow/ml-pipeline", "error: failed to write /tmp/x: no space left on device\n")
    assert only(site, "inotify") == []
    crash(site, "kubeflow/ml-pipeline",
          "Error: failed to add watch on /etc/certs: no space left on device\n")
    [finding] = only(site, "inotify")
    assert finding.evidence[0].endswith(
        "Error: failed to add watch on /etc/certs: no space left on device")


def test_inotify_counts_a_restarted_running_container_in_a_profile_namespace(site: Site) -> None:
    running_pod(site, PROFILE, "notebook-0", restarts=2,
                log="[W 10:00:00 NotebookApp] inotify_init: too many open files\n")
    [finding] = only(site, "inotify")
    assert finding.evidence == (
        f"Pod {PROFILE}/notebook-0 container main (2 restarts): "
        "[W 10:00:00 NotebookApp] inotify_init: too many open files",)


def test_gpu_pending_without_gpu_nodes_or_pools_is_a_failure(site: Site) -> None:
    add_node(site, "cpu-1")
    gpu_job(site)
    [finding] = only(site, "gpu-pending")
    assert finding.severity == "failure"
    assert finding.summary == "1 GPU pod(s) Pending: Insufficient nvidia.com/gpu"
    assert finding.evidence[0].startswith(
        f"Pod {PROFILE}/train-emu01: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu.")
    assert finding.evidence[1:] == (
        "no node has nvidia.com/gpu allocatable",
        "no Karpenter NodePool (karpenter.sh/v1) makes GPU nodes")
    assert "spec.gpu.enabled: true" in finding.fix
    assert "spec.karpenter.nodePools[].gpu: true" in finding.fix


def test_gpu_pending_on_tainted_gpu_nodes_names_the_toleration(site: Site) -> None:
    add_node(site, "cpu-1")
    add_node(site, "gpu-1", gpus=2, taints=[TAINT])
    gpu_job(site)
    [finding] = only(site, "gpu-pending")
    assert finding.severity == "warning"
    assert finding.summary == "1 GPU pod(s) Pending: untolerated GPU node taint"
    assert "1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint(s)" \
        in finding.evidence[0]
    assert finding.evidence[1] == "nodes with nvidia.com/gpu allocatable: gpu-1 (2)"
    assert "spec.profiles[].podDefaults: [gpuToleration]" in finding.fix


def test_gpu_pending_finds_nothing_once_a_gpu_node_runs_the_pod(site: Site) -> None:
    add_node(site, "gpu-1", gpus=1)
    gpu_job(site)
    [pod] = site.cluster.list("v1", "Pod", PROFILE, {"job-name": "train"})
    assert pod["status"]["phase"] == "Succeeded"
    assert only(site, "gpu-pending") == []


def test_gpu_pending_with_a_karpenter_gpu_pool_names_it(site: Site) -> None:
    crd = yaml.safe_load(NODE_POOLS.read_text())
    with site.emulator.lock:
        site.emulator.state.settings.crd_delay = 0  # served at once
    site.cluster.apply(crd)
    site.cluster.learn_crds([crd])
    for name, gpu in (("general", False), ("gpu", True)):
        operator = "In" if gpu else "DoesNotExist"
        site.cluster.create({"apiVersion": "karpenter.sh/v1", "kind": "NodePool",
                             "metadata": {"name": name}, "spec": {"template": {"spec": {
                                 "nodeClassRef": {"group": "karpenter.azure.com",
                                                  "kind": "AKSNodeClass", "name": name},
                                 "requirements": [{
                                     "key": "karpenter.azure.com/sku-gpu-manufacturer",
                                     "operator": operator,
                                     **({"values": ["nvidia"]} if gpu else {})}],
                                 "taints": [TAINT] if gpu else []}}}})
    add_node(site, "cpu-1")
    gpu_job(site)
    [finding] = only(site, "gpu-pending")
    assert finding.severity == "warning"
    assert finding.evidence[-2:] == ("no node has nvidia.com/gpu allocatable",
                                     "Karpenter NodePools (karpenter.sh/v1) for GPU nodes: gpu")
    assert "kubectl -n kube-system logs deploy/karpenter" in finding.fix


def test_gpu_pending_leaves_out_a_pod_karpenter_makes_a_node_for(site: Site) -> None:
    gpu_node = {"metadata": {"name": "aks-gpu-abcde", "labels": {}},
                "spec": {"taints": [TAINT]},
                "status": {"allocatable": {"cpu": "6", "nvidia.com/gpu": "1"}}}
    with site.emulator.lock:
        site.emulator.state.settings.provision_node = gpu_node
        site.emulator.state.settings.provision_delay = 3600  # still being made
    add_node(site, "cpu-1")
    gpu_job(site)
    events = site.cluster.list("v1", "Event", PROFILE)
    assert any(e.get("reason") == "Nominated" for e in events)
    assert only(site, "gpu-pending") == []


def test_gpu_pending_says_when_the_nodes_may_not_be_read(site: Site) -> None:
    add_node(site, "cpu-1")
    gpu_job(site)
    with site.emulator.lock:
        site.emulator.state.deny("list", "nodes")
    [finding] = only(site, "gpu-pending")
    assert finding.severity == "warning"  # GPU nodes may exist: doctor cannot tell
    assert finding.evidence[1] == "the Nodes may not be read with these credentials"
