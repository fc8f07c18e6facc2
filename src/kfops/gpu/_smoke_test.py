"""`kfops gpu test`: a one-GPU Job that shows whether GPU pods work, and if not, which step fails.

The steps a GPU pod goes through: a node that offers nvidia.com/gpu and
tolerates nothing the pod does not (Karpenter may make one first), the image
pulled, and the GPU visible inside the container (`nvidia-smi -L`).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kfops.catalog import GPU_RESOURCE
from kfops.cluster import (
    IMAGE_PULL_REASONS,
    Cluster,
    PodFailure,
    WaitSettings,
    container_waiting,
    failing_pod,
    pod_failure,
    wait_for,
)
from kfops.config import Taint
from kfops.errors import ClusterError, WaitTimeout

TEST_IMAGE = "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"
_GPU_LINE = re.compile(r"^GPU \d+: .*$", re.MULTILINE)


@dataclass
class GpuTestReport:
    """What the test Job saw; `failed_step` is None when a GPU was seen."""

    job: str
    namespace: str
    node: str | None = None
    provisioned: bool = False
    """The node appeared after the test started (an autoscaler such as Karpenter made it)."""
    gpus: list[str] = field(default_factory=list)
    """The GPUs the container saw (`nvidia-smi -L` lines)."""
    failed_step: str | None = None
    """no node, pending, image pull, no GPU visible, or no log (the container ended but left
    no output to read, so whether it saw a GPU is unknown)."""
    detail: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether the pod ran on a GPU node and saw a GPU."""
        return self.failed_step is None


def gpu_test_job(name: str, namespace: str, taint: Taint, image: str = TEST_IMAGE,
                 deadline: int = 900) -> dict[str, Any]:
    """The Job: one nvidia.com/gpu, the GPU nodes' toleration, `nvidia-smi -L`."""
    labels = {"app.kubernetes.io/managed-by": "kfops", "kfops.io/gpu-test": name}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "tolerations": [taint.toleration()],
                    "containers": [{
                        "name": "nvidia-smi", "image": image, "command": ["nvidia-smi", "-L"],
                        "resources": {"limits": {GPU_RESOURCE: 1}},
                    }],
                },
            },
        },
    }


class GpuTest:
    """Runs the test Job on a cluster, follows its pod, and deletes it afterwards."""

    def __init__(self, cluster: Cluster, taint: Taint, namespace: str = "default",
                 image: str = TEST_IMAGE, waits: WaitSettings | None = None) -> None:
        self._cluster = cluster
        self._taint = taint
        self._image = image
        self._waits = waits or WaitSettings(timeout=900.0, interval=5.0)
        self.report = GpuTestReport(f"kfops-gpu-test-{secrets.token_hex(3)}", namespace)
        self._nodes_before: set[str] = set()
        self._pod: dict[str, Any] | None = None
        self._failing_since: float | None = None

    def run(self, on_poll: Callable[[list[str]], None] = lambda _: None) -> GpuTestReport:
        """Create the Job, wait for its outcome (or the timeout), clean up; the report.

        `on_poll` hears what the test waits for at each look (for a progress display).
        """
        report = self.report
        started = time.monotonic()
        self._nodes_before = {n["metadata"]["name"] for n in self._cluster.list("v1", "Node")}
        self._cluster.apply(gpu_test_job(report.job, report.namespace, self._taint, self._image,
                                         int(self._waits.timeout) + 60))
        try:
            wait_for(self._waits, f"GPU test Job {report.job}", self._pending, on_poll)
        except WaitTimeout:
            if report.failed_step is None:
                report.failed_step, report.detail = self._stuck()
        finally:
            self._cluster.delete("batch/v1", "Job", report.job, report.namespace,
                                 dependents=True)
            report.seconds = time.monotonic() - started
        return report

    def _pending(self) -> list[str]:
        """Why the test is not over yet; [] once it has an outcome (in the report)."""
        report = self.report
        pods = self._cluster.list("v1", "Pod", report.namespace, {"job-name": report.job})
        if not pods:
            return ["the Job has no pod yet"]
        pod = self._pod = pods[0]
        node = pod.get("spec", {}).get("nodeName")
        if node and report.node is None:
            report.node = node
            report.provisioned = node not in self._nodes_before
        failure = self._failure(pod)
        if failure is not None:
            report.failed_step, report.detail = self._step(failure, pod)
            return []
        phase = (pod.get("status") or {}).get("phase")
        if phase not in ("Succeeded", "Failed"):
            return [f"pod {pod['metadata']['name']} is {phase or 'Pending'}"]
        log, unreadable = self._log(pod)
        report.gpus = _GPU_LINE.findall(log)
        if report.gpus:
            return []
        if unreadable or not log.strip():
            # Nothing to read is not "no GPU": kfops cannot tell what nvidia-smi saw.
            why = f"its log could not be read ({unreadable})" if unreadable else \
                "it printed nothing"
            report.failed_step = "no log"
            report.detail = (f"the pod ran on {node} and {_ended(pod)}, but {why}: kfops "
                             "cannot tell whether it saw a GPU")
        else:
            report.failed_step = "no GPU visible"
            report.detail = f"nvidia-smi on {node} found no GPU: {log.strip().splitlines()[-1]}"
        return []

    def _failure(self, pod: dict[str, Any]) -> PodFailure | None:
        """What keeps the pod from starting (apply's FAILING_REASONS), once it has lasted the
        grace period; None while it may still get there (an autoscaler making a node counts)."""
        failure = failing_pod(self._cluster, self.report.namespace, [pod])
        if failure is None:
            self._failing_since = None
            return None
        now = time.monotonic()
        self._failing_since = self._failing_since or now
        return failure if now - self._failing_since >= self._waits.failure_grace else None

    def _step(self, failure: PodFailure, pod: dict[str, Any]) -> tuple[str, str]:
        """The step a failing pod did not get past, and what the cluster says."""
        if failure.reason in IMAGE_PULL_REASONS:
            return "image pull", f"{self._image}: {failure.reason} {failure.message}".strip()
        if not pod.get("spec", {}).get("nodeName"):
            return "no node", self._no_node(failure.message)
        return "pending", (f"pod on node {pod['spec']['nodeName']} cannot start: "
                           f"{failure.reason} {failure.message}".strip())

    def _no_node(self, scheduler_says: str) -> str:
        return (f"no node offers {GPU_RESOURCE} and tolerates only what the pod does "
                f"({self._taint.key}={self._taint.value}:{self._taint.effect})"
                + (f"; the scheduler says: {scheduler_says}" if scheduler_says else "")
                + "; with Karpenter, check the GPU NodePool and `kubectl get nodeclaims`")

    def _stuck(self) -> tuple[str, str]:
        """The step that did not happen before the timeout, and what the cluster says."""
        pod = self._pod
        if pod is None:
            return "pending", "the Job made no pod (is the Job controller running?)"
        failure = pod_failure(pod)  # the time is up: a node on its way no longer counts
        if failure is not None:
            return self._step(failure, pod)
        if not pod.get("spec", {}).get("nodeName"):
            return "no node", self._no_node("")
        waiting = container_waiting(pod)
        why = f"{waiting[1]} {waiting[2]}".strip() if waiting else "not started"
        return "pending", f"pod on node {pod['spec']['nodeName']} did not run: {why}"

    def _log(self, pod: dict[str, Any]) -> tuple[str, str]:
        """The container's log, and why it could not be read ("" when it was)."""
        try:
            return self._cluster.pod_log(pod["metadata"]["name"], self.report.namespace), ""
        except ClusterError as error:
            return "", str(error)


def _ended(pod: dict[str, Any]) -> str:
    """How the test container ended, as its status says (`nvidia-smi exited 0`)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated") or {}
        if "exitCode" in terminated:
            code, reason = terminated["exitCode"], terminated.get("reason") or ""
            return f"nvidia-smi exited {code}" + (f" ({reason})" if reason and code else "")
    return f"ended {(pod.get('status') or {}).get('phase') or 'without a status'}"
